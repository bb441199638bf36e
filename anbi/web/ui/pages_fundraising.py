"""Campaigns and donations: the campaign list with progress to goal, the campaign
report with its charts, donations filtered by date, campaign, method and status,
and the LYBUNT/SYBUNT lists with a CSV download for a mailing.

The figures come from the fundraising package's reports (fundraising.reports,
fundraising.queries, fundraising.campaigns); these pages only show them."""
from __future__ import annotations

import csv
import datetime as dt
import io
import urllib.parse

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from anbi.core.clock import parse_date, today
from anbi.core.errors import NotFound
from anbi.core.money import parse_money
from anbi.core.roles import CAMPAIGNS_READ, DONORS_READ, EXPORT_DONORS
from anbi.web import charts
from anbi.web.i18n import translate
from anbi.web.ui.common import DB, PageNotFound, Staff, csrf_protect, language, render, staff
from fundraising.models import DONATION_STATUSES, METHODS

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)

DONATIONS_SHOWN = 200


@router.get("/campaigns")
def campaigns_page(request: Request, person: Staff = Depends(staff(CAMPAIGNS_READ)), db: Session = DB):
    from fundraising.campaigns import list_campaigns
    from fundraising.reports import campaign_report

    rows = []
    for item in list_campaigns(db):
        report = campaign_report(db, item["code"]) if item["goal"] is not None else None
        rows.append({
            **item,
            "net_cents": report.net_cents if report else None,
            "goal_cents": report.goal_cents if report else None,
            "progress_pct": report.progress_pct if report else None,
            "gross_cents": parse_money(item["gross"]).cents,
        })
    return render(request, "campaigns.html", {"title": translate(language(request), "Campaigns"), "campaigns": rows})


@router.get("/campaigns/{code}")
def campaign_page(request: Request, code: str, person: Staff = Depends(staff(CAMPAIGNS_READ)), db: Session = DB):
    from fundraising.reports import campaign_report

    lang = language(request)
    try:
        report = campaign_report(db, code)
    except NotFound:
        raise PageNotFound("This page does not exist.") from None
    month_chart = charts.horizontal_bars(
        [charts.Bar(m.month, m.net_cents) for m in report.months],
        title=translate(lang, "By month"), desc=translate(lang, "Net raised"), css_class="campaign-months",
    )
    goal_chart = None
    if report.goal_cents:
        goal_chart = charts.horizontal_bars(
            [charts.Bar(translate(lang, "Net raised"), report.net_cents, reference=report.goal_cents)],
            title=translate(lang, "Progress"), desc=translate(lang, "Goal"), css_class="campaign-goal",
        )
    return render(request, "campaign.html", {
        "title": report.name, "report": report, "month_chart": month_chart, "goal_chart": goal_chart,
    })


# --- donations -------------------------------------------------------------------

def _date_or_none(text: str, problems: dict, field: str) -> dt.date | None:
    if not text:
        return None
    try:
        return parse_date(text)
    except ValueError as exc:
        problems[field] = str(exc)
        return None


def filtered_donations(db: Session, *, date_from: dt.date | None, date_to: dt.date | None, campaign: str | None,
                       method: str | None, status: str | None):
    """The donations matching the filters, oldest first, streamed from the
    fundraising part's list (which narrows by year and campaign in the database)."""
    from fundraising.queries import list_donations

    year = date_from.year if date_from and date_to and date_from.year == date_to.year else None
    for row in list_donations(db, year=year, campaign=campaign or None):
        day = dt.date.fromisoformat(row["date"])
        if date_from and day < date_from or date_to and day > date_to:
            continue
        if method and row["method"] != method or status and row["status"] != status:
            continue
        yield row


def _donation_filters(request: Request) -> tuple[dict, dict]:
    params = request.query_params
    problems: dict[str, str] = {}
    values = {key: params.get(key, "").strip() for key in ("from", "to", "campaign", "method", "status")}
    if values["method"] and values["method"] not in METHODS:
        problems["method"] = f"{values['method']!r} is not one of {', '.join(METHODS)}"
    if values["status"] and values["status"] not in DONATION_STATUSES:
        problems["status"] = f"{values['status']!r} is not one of {', '.join(DONATION_STATUSES)}"
    return values, problems


@router.get("/donations")
def donations_page(request: Request, person: Staff = Depends(staff(DONORS_READ)), db: Session = DB):
    from fundraising.campaigns import list_campaigns

    values, problems = _donation_filters(request)
    date_from = _date_or_none(values["from"], problems, "from")
    date_to = _date_or_none(values["to"], problems, "to")
    rows: list[dict] = []
    count = 0
    totals: dict[str, int] = {}
    if not problems:
        try:
            for row in filtered_donations(db, date_from=date_from, date_to=date_to, campaign=values["campaign"],
                                          method=values["method"], status=values["status"]):
                count += 1
                totals[row["currency"]] = totals.get(row["currency"], 0) + parse_money(row["amount"]).cents
                if len(rows) < DONATIONS_SHOWN:
                    rows.append(row)
        except NotFound as exc:
            problems["campaign"] = str(exc)
    query = urllib.parse.urlencode({k: v for k, v in values.items() if v})
    return render(request, "donations.html", {
        "title": translate(language(request), "Donations"), "rows": rows, "count": count, "totals": totals,
        "values": values, "problems": problems, "campaigns": list_campaigns(db), "methods": METHODS,
        "statuses": DONATION_STATUSES, "shown": DONATIONS_SHOWN,
        "csv_url": "/donations.csv" + (f"?{query}" if query else ""),
    }, status=400 if problems else 200)


@router.get("/donations.csv")
def donations_csv(request: Request, person: Staff = Depends(staff(EXPORT_DONORS)), db: Session = DB):
    from fundraising.queries import DONATION_LIST_KEYS

    values, problems = _donation_filters(request)
    date_from = _date_or_none(values["from"], problems, "from")
    date_to = _date_or_none(values["to"], problems, "to")
    if problems:
        raise PageNotFound("; ".join(f"{k}: {v}" for k, v in problems.items()))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(DONATION_LIST_KEYS)
    try:
        for row in filtered_donations(db, date_from=date_from, date_to=date_to, campaign=values["campaign"],
                                      method=values["method"], status=values["status"]):
            writer.writerow([row[key] if row[key] is not None else "" for key in DONATION_LIST_KEYS])
    except NotFound as exc:
        raise PageNotFound(str(exc)) from None
    return _csv_response(out.getvalue(), "donations.csv")


def _csv_response(text: str, name: str) -> Response:
    # A BOM so that Excel opens the UTF-8 file with its accents intact.
    return Response("\ufeff" + text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- LYBUNT / SYBUNT ---------------------------------------------------------------

LAPSED_LISTS = {"lybunt": True, "sybunt": False}  # list -> last year only


def _lapsed_args(request: Request) -> tuple[str, int]:
    kind = request.query_params.get("list", "lybunt")
    if kind not in LAPSED_LISTS:
        kind = "lybunt"
    try:
        year = int(request.query_params.get("year", today().year))
    except ValueError:
        year = today().year
    return kind, year


@router.get("/donations/lapsed")
def lapsed_page(request: Request, person: Staff = Depends(staff(CAMPAIGNS_READ)), db: Session = DB):
    from fundraising.reports import lapsed_donors

    kind, year = _lapsed_args(request)
    donors = lapsed_donors(db, year, last_year_only=LAPSED_LISTS[kind])
    return render(request, "lapsed.html", {
        "title": translate(language(request), "LYBUNT and SYBUNT"), "kind": kind, "year": year, "donors": donors,
        "csv_url": "/donations/lapsed.csv?" + urllib.parse.urlencode({"list": kind, "year": year}),
    })


@router.get("/donations/lapsed.csv")
def lapsed_csv(request: Request, person: Staff = Depends(staff(EXPORT_DONORS)), db: Session = DB):
    from fundraising.reports import lapsed_donors

    kind, year = _lapsed_args(request)
    out = io.StringIO()
    writer = csv.writer(out)
    keys = ("ref", "name", "postcode", "email", "last_gift_date", "last_year_total")
    writer.writerow(keys)
    for donor in lapsed_donors(db, year, last_year_only=LAPSED_LISTS[kind]):
        document = donor.as_json()
        writer.writerow([document[key] if document[key] is not None else "" for key in keys])
    return _csv_response(out.getvalue(), f"{kind}-{year}.csv")

