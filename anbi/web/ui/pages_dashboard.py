"""The dashboard: income this year against last year, by campaign and channel,
donors won and lost, recurring gifts at risk, grant deadlines, the last imports
and webhooks with their errors."""
from __future__ import annotations

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from anbi.core.clock import today
from anbi.core.roles import CAMPAIGNS_READ, FINANCE_READ
from anbi.web import charts, dashboard
from anbi.web.i18n import label, translate
from anbi.web.ui.common import DB, Staff, language, render, staff, ui_router, year_asked

router = ui_router()

# How an import's figures read (anbi.core.runs keeps them by these names).
IMPORT_FIGURES = {"created": "{count} new", "updated": "{count} updated", "unchanged": "{count} unchanged",
                  "refunds": "{count} refunds"}

MONTHS = {
    "nl": ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"],
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
}


def last_webhooks(db: Session, limit: int = 8) -> list:
    """The latest Stripe events, failed and waiting ones first (the Stripe part's inbox)."""
    try:
        from fundraising.stripe.models import StripeEvent
    except ImportError:  # the Stripe part is not installed
        return []
    problems = list(db.scalars(
        select(StripeEvent).where(StripeEvent.status.in_(("failed", "waiting")))
        .order_by(StripeEvent.received_at.desc()).limit(limit)
    ))
    latest = list(db.scalars(select(StripeEvent).order_by(StripeEvent.received_at.desc()).limit(limit)))
    seen = {e.id for e in problems}
    return (problems + [e for e in latest if e.id not in seen])[:limit]


@router.get("/")
def dashboard_page(request: Request, person: Staff = Depends(staff(CAMPAIGNS_READ)), db: Session = DB):
    lang = language(request)

    def _(text: str, **values) -> str:
        return translate(lang, text, **values)

    year = year_asked(request)
    figures = dashboard.build(db, year=year, no_campaign=_("none"), others=_("Campaigns") + " …", no_channel=_("none"))
    year = figures.year
    months = MONTHS[lang]
    chart = charts.month_comparison(
        figures.months_current, figures.months_previous, months,
        title=_("Income by month, {year} against {previous}", year=year, previous=year - 1),
        desc=_("Income {year} (bars) against {previous} (line), in euros, by month", year=year, previous=year - 1),
    )
    campaign_chart = charts.horizontal_bars(
        [charts.Bar(a.label, a.cents) for a in figures.by_campaign],
        title=_("By campaign"), desc=_("By campaign"), css_class="campaigns",
    )
    figures.by_channel = [dashboard.Amount(a.key, label(lang, a.key) if a.key else a.label, a.cents)
                          for a in figures.by_channel]
    channel_chart = charts.horizontal_bars(
        [charts.Bar(a.label, a.cents) for a in figures.by_channel],
        title=_("By channel"), desc=_("By channel"), css_class="channels",
    )
    deadlines = []
    if person.can(FINANCE_READ):
        from subsidies.grants import deadlines as grant_deadlines

        deadlines = grant_deadlines(db, today(), within_days=60)
    return render(request, "dashboard.html", {
        "title": _("Dashboard"),
        "figures": figures,
        "months": months,
        "month_rows": list(zip(months, figures.months_current, figures.months_previous)),
        "chart": chart,
        "campaign_chart": campaign_chart,
        "channel_chart": channel_chart,
        "deadlines": deadlines,
        "webhooks": last_webhooks(db),
        "import_figures": IMPORT_FIGURES,
        "total_current": sum(figures.months_current),
        "total_previous": sum(figures.months_previous),
    }, person=person)
