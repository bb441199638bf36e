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
from dataclasses import asdict

from fastapi import Depends, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session

from anbi.core.clock import parse_date
from anbi.core.errors import NotFound
from anbi.core.money import parse_money
from anbi.core.roles import CAMPAIGNS_READ, DONORS_READ, EXPORT_DONORS
from anbi.core.spreadsheet import csv_text
from anbi.web import charts
from anbi.web.i18n import translate
from anbi.web.ui.common import DB, PageNotFound, Staff, language, render, staff, ui_router, year_asked
from fundraising.models import DONATION_STATUSES, METHODS
from fundraising.queries import DonationCount, DonationFilter

router = ui_router()

DONATIONS_SHOWN = 200


@router.get("/campaigns")
def campaigns_page(request: Request, person: Staff = Depends(staff(CAMPAIGNS_READ)), db: Session = DB):
    """Every campaign with what it raised, sub-campaigns included, as its report
    counts (fundraising.campaigns.list_campaigns: one pass for all of them)."""
    from fundraising.campaigns import list_campaigns

    rows = [{**item, "gross_cents": parse_money(item["gross"]).cents, "net_cents": parse_money(item["net"]).cents,
             "goal_cents": parse_money(item["goal"]).cents if item["goal"] else None}
            for item in list_campaigns(db)]
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


def donation_page(db: Session, chosen: DonationFilter, *, limit: int) -> tuple[list[dict], int, DonationCount]:
    """The newest `limit` donations matching the filter (with the donors' names), how
    many match, and what they add up to: the money received, net of refunds, per
    currency, and apart from it what is pending or failed — from the fundraising
    part's list, filtered, counted and summed in the database, so a page over a
    million donations reads no more than it shows. The rows have the keys of `anbi
    donations list --json` and `donor_name`."""
    from fundraising.queries import count_donations, list_donations

    counted = count_donations(db, **asdict(chosen))
    rows = list(list_donations(db, **asdict(chosen), limit=limit, newest_first=True, with_names=True)) \
        if counted.count else []
    return rows, counted.count, counted


def _donation_filter(request: Request) -> tuple[dict, dict, DonationFilter]:
    params = request.query_params
    problems: dict[str, str] = {}
    values = {key: params.get(key, "").strip() for key in ("from", "to", "campaign", "method", "status")}
    if values["method"] and values["method"] not in METHODS:
        problems["method"] = f"{values['method']!r} is not one of {', '.join(METHODS)}"
    if values["status"] and values["status"] not in DONATION_STATUSES:
        problems["status"] = f"{values['status']!r} is not one of {', '.join(DONATION_STATUSES)}"
    date_from = _date_or_none(values["from"], problems, "from")
    date_to = _date_or_none(values["to"], problems, "to")
    chosen = DonationFilter(date_from=date_from, date_to=date_to, campaign=values["campaign"] or None,
                            method=values["method"] or None, status=values["status"] or None)
    return values, problems, chosen


@router.get("/donations")
def donations_page(request: Request, person: Staff = Depends(staff(DONORS_READ)), db: Session = DB):
    from fundraising.campaigns import list_campaigns

    values, problems, chosen = _donation_filter(request)
    rows: list[dict] = []
    count, totals = 0, DonationCount(0)
    if not problems:
        try:
            rows, count, totals = donation_page(db, chosen, limit=DONATIONS_SHOWN)
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
    """Every matching donation, oldest first, from the fundraising part's list,
    streamed in its own session so a large year never sits in memory."""
    from fundraising.queries import DONATION_LIST_KEYS, list_donations

    _values, problems, chosen = _donation_filter(request)
    if not problems and chosen.campaign:
        try:
            chosen.conditions(db)
        except NotFound as exc:
            problems["campaign"] = str(exc)
    if problems:
        raise PageNotFound("; ".join(f"{k}: {v}" for k, v in problems.items()))
    sessions = request.app.state.sessions

    def lines():
        out = io.StringIO()
        writer = csv.writer(out)
        out.write("\ufeff")  # so that Excel opens the UTF-8 file with its accents intact
        writer.writerow(DONATION_LIST_KEYS)
        with sessions() as stream:
            for row in list_donations(stream, **asdict(chosen)):
                writer.writerow(csv_row(row, DONATION_LIST_KEYS, numbers=DONATION_CSV_NUMBERS))
                if out.tell() > 64_000:
                    yield out.getvalue()
                    out.seek(0)
                    out.truncate()
        yield out.getvalue()

    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="donations.csv"'})


# The columns of the CSV downloads that hold numbers, amounts or dates; every other
# cell is text, which a spreadsheet must never run as a formula.
DONATION_CSV_NUMBERS = frozenset({"date", "amount", "refunded"})
LAPSED_CSV_NUMBERS = frozenset({"last_gift_date", "last_year_total"})


def csv_row(document: dict, keys, *, numbers: frozenset[str]) -> list[str]:
    """A CSV line of a JSON document: empty for None, text cells defused."""
    return ["" if document[key] is None else str(document[key]) if key in numbers else csv_text(str(document[key]))
            for key in keys]


def _csv_response(text: str, name: str) -> Response:
    # A BOM so that Excel opens the UTF-8 file with its accents intact.
    return Response("\ufeff" + text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- LYBUNT / SYBUNT ---------------------------------------------------------------

LAPSED_LISTS = {"lybunt": True, "sybunt": False}  # list -> last year only
LAPSED_SHOWN = 500  # on the page; the CSV has them all


def _lapsed_args(request: Request) -> tuple[str, int]:
    kind = request.query_params.get("list", "lybunt")
    if kind not in LAPSED_LISTS:
        kind = "lybunt"
    return kind, year_asked(request)


@router.get("/donations/lapsed")
def lapsed_page(request: Request, person: Staff = Depends(staff(CAMPAIGNS_READ)), db: Session = DB):
    from fundraising.reports import lapsed_donors

    kind, year = _lapsed_args(request)
    donors = lapsed_donors(db, year, last_year_only=LAPSED_LISTS[kind])
    return render(request, "lapsed.html", {
        "title": translate(language(request), "LYBUNT and SYBUNT"), "kind": kind, "year": year,
        "donors": donors[:LAPSED_SHOWN], "count": len(donors), "shown": LAPSED_SHOWN,
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
        writer.writerow(csv_row(document, keys, numbers=LAPSED_CSV_NUMBERS))
    return _csv_response(out.getvalue(), f"{kind}-{year}.csv")

