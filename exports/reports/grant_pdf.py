"""A grant's accountability report as the PDF a funder receives.

Cover with the grant and its period; budget against actual per budget line; the
eligible cost summary with the indirect-cost and co-financing computation written
out; payments and the balance; outputs against targets; costs that are not eligible
and why; a signature block. It formats figures computed by
`subsidies.accountability` and decides nothing itself. Deterministic: the same
figures and date give the same bytes.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from reportlab.platypus import Spacer

from anbi.core import formatting
from anbi.core.money import format_dutch, round_half_up
from exports.reports.layout import build, para, table
from subsidies.accountability import Figures

LEVEL_TEXT = {
    "none": "geen verantwoording vooraf: directe vaststelling; activiteiten aantoonbaar uitgevoerd",
    "activities": "activiteitenverslag: verantwoording op prestaties",
    "full": "activiteitenverslag en financieel verslag met controleverklaring van de accountant",
}
PAYMENT_KINDS = {"advance": "voorschot", "settlement": "vaststelling", "repayment": "terugbetaling"}


def _pct(rate: Decimal) -> str:
    """0.75 → `75%`, 0.0725 → `7,25%`."""
    return formatting.percent(rate)


def _date(day: dt.date) -> str:
    return formatting.date(day)


def render_grant_report(
    figures: Figures,
    *,
    payments: Sequence[tuple[str, dt.date, str, int]] = (),
    organisation: str = "",
    issued_on: dt.date,
) -> bytes:
    terms = figures.terms
    totals = figures.totals
    period_from = figures.period_from or terms.start
    period_to = figures.period_to or terms.end
    kind = "Tussentijdse verantwoording" if figures.interim else "Verantwoording"
    story: list = []

    # --- cover: the grant's facts, with the report following on the same page -------
    story += [
        para(f"{kind} subsidie {terms.reference}", "title"),
        para(terms.title, "subtitle"),
        table(("", ""), [
            ("Subsidieontvanger", organisation or "-"),
            ("Subsidiegever", terms.funder),
            ("Kenmerk", terms.reference),
            ("Looptijd", f"{_date(terms.start)} t/m {_date(terms.end)}"),
            ("Verantwoordingsperiode", f"{_date(period_from)} t/m {_date(period_to)}"),
            ("Verleend bedrag", format_dutch(terms.awarded_cents)),
            ("Subsidiepercentage", f"{_pct(terms.funding_rate)} van de subsidiabele kosten"),
            ("Verantwoordingsniveau", f"{figures.accountability_level}: {LEVEL_TEXT[figures.accountability_level]}"),
            ("Datum", _date(issued_on)),
        ], (55, 115)),
    ]

    # --- budget against actual ----------------------------------------------------
    story.append(para("1. Begroting en realisatie", "heading"))
    rows: list[tuple[str, ...]] = []  # each table of the report in turn
    for line in figures.lines:
        pct = "-" if line.variance_pct is None else formatting.percent(line.variance_pct / 100, trim=False)
        rows.append((line.code, line.name, format_dutch(line.budget_cents), format_dutch(line.actual_cents),
                     format_dutch(line.variance_cents), pct, "ja" if line.over_budget else "nee"))
    budget_total = sum(line.budget_cents for line in figures.lines)
    rows.append(("", "Totaal", format_dutch(budget_total), format_dutch(totals.direct_eligible_cents),
                 format_dutch(totals.direct_eligible_cents - budget_total), "", ""))
    story.append(table(("Post", "Naam", "Begroting", "Realisatie", "Verschil", "Verschil %", "Overschreden"),
                       rows, (16, 40, 26, 26, 28, 18, 20), right=(2, 3, 4, 5), bold_rows=(len(rows) - 1,)))
    story.append(para(
        f"Een post is overschreden als de realisatie meer dan {_pct(terms.allowed_shift)} boven de begroting ligt. "
        "Personeelskosten: uren × uurtarief (jaarlijkse loonkosten / (uren per jaar × fte)); per post afgerond op centen.",
        "small"))

    # --- eligible costs, indirect costs and the funder's share ---------------------
    story.append(para("2. Subsidiabele kosten en bijdrage", "heading"))
    rows = [("Subsidiabele directe kosten (som van de posten)", format_dutch(totals.direct_eligible_cents))]
    if terms.indirect_rate is not None and terms.indirect_base != "none":
        base_name = "subsidiabele directe kosten" if terms.indirect_base == "direct" else "subsidiabele directe personeelskosten"
        if terms.indirect_base == "staff":
            rows.append(("waarvan directe personeelskosten", format_dutch(totals.staff_eligible_cents)))
        rows.append((f"Indirecte kosten: {_pct(terms.indirect_rate)} × {format_dutch(totals.indirect_base_cents)} ({base_name})",
                     format_dutch(totals.indirect_cents)))
    else:
        rows.append(("Indirecte kosten: geen opslag", format_dutch(0)))
    rows.append(("Totaal subsidiabele kosten", format_dutch(totals.total_eligible_cents)))
    rows.append((f"Bijdrage: {_pct(terms.funding_rate)} × {format_dutch(totals.total_eligible_cents)}",
                 format_dutch(totals.share_before_cap_cents)))
    rows.append(("Verleend bedrag (maximum)", format_dutch(terms.awarded_cents)))
    rows.append(("Bijdrage subsidiegever: het laagste van beide", format_dutch(totals.funder_share_cents)))
    own = totals.total_eligible_cents - totals.funder_share_cents
    rows.append(("Cofinanciering (eigen middelen en andere financiers)", format_dutch(own)))
    story.append(table(("Berekening", "Bedrag"), rows, (135, 35), right=(1,), bold_rows=(len(rows) - 2,)))

    # --- payments and balance -----------------------------------------------------
    story.append(para("3. Betalingen en saldo", "heading"))
    rows = [(reference, _date(day), PAYMENT_KINDS.get(kind_, kind_), format_dutch(-cents if kind_ == "repayment" else cents))
            for reference, day, kind_, cents in payments]
    if not rows:
        rows.append(("-", "", "geen betalingen", format_dutch(0)))
    story.append(table(("Referentie", "Datum", "Soort", "Bedrag"), rows, (60, 30, 45, 35), right=(3,)))
    story.append(Spacer(1, 6))
    balance = figures.balance_cents
    balance_text = "nog te ontvangen" if balance > 0 else ("terug te betalen" if balance < 0 else "niets te verrekenen")
    settled = terms.settled_cents if not figures.interim else None
    owed = (("Vastgesteld bedrag (vaststelling)", format_dutch(settled)) if settled is not None
            else ("Bijdrage subsidiegever", format_dutch(totals.funder_share_cents)))
    story.append(table(("", "Bedrag"), [
        owed,
        (f"Ontvangen: voorschotten {format_dutch(figures.payments.advances_cents)} + vaststelling "
         f"{format_dutch(figures.payments.settlements_cents)} − terugbetaald {format_dutch(figures.payments.repayments_cents)}",
         format_dutch(figures.received_cents)),
        (f"Saldo ({balance_text})", format_dutch(balance)),
    ], (135, 35), right=(1,), bold_rows=(2,)))

    # --- outputs --------------------------------------------------------------------
    story.append(para("4. Prestaties", "heading"))
    if figures.indicators:
        rows = []
        for indicator in figures.indicators:
            share = "-" if indicator.target == 0 else formatting.percent(Decimal(indicator.actual) / indicator.target, decimals=0)
            rows.append((indicator.code, indicator.name, formatting.number(indicator.target, 0),
                         formatting.number(indicator.actual, 0), share))
        story.append(table(("Indicator", "Omschrijving", "Doel", "Gerealiseerd", "% van doel"), rows,
                           (25, 81, 20, 26, 22), right=(2, 3, 4)))
    else:
        story.append(para("Voor deze subsidie zijn geen prestatie-indicatoren afgesproken."))

    # --- not eligible and warnings --------------------------------------------------
    if figures.ineligible_items:
        story.append(para("5. Niet subsidiabele kosten", "heading"))
        rows = [(item.reference, _date(item.date), item.budget_line or "", format_dutch(round_half_up(item.amount)), item.reason)
                for item in figures.ineligible_items]
        rows.append(("Totaal", "", "", format_dutch(figures.ineligible_cents), ""))
        story.append(table(("Referentie", "Datum", "Post", "Bedrag", "Reden"), rows, (24, 22, 16, 26, 86),
                           right=(3,), bold_rows=(len(rows) - 1,)))
    if figures.warnings:
        story.append(para("Aandachtspunten", "heading"))
        for warning in figures.warnings:
            story.append(para(f"• {warning}"))

    # --- signature --------------------------------------------------------------------
    story.append(para("Ondertekening", "heading"))
    story.append(para(
        f"Namens {organisation or 'de subsidieontvanger'} verklaren wij dat deze verantwoording juist en volledig is, "
        "dat de kosten zijn gemaakt voor de gesubsidieerde activiteiten en dat de administratie met de "
        "onderliggende stukken beschikbaar is voor controle."))
    if figures.accountability_level == "full":
        story.append(para("Bijlage: controleverklaring van de accountant."))
    story.append(Spacer(1, 10))
    story.append(table(("", "Bestuurder", "Financieel verantwoordelijke"), [
        ("Naam", "", ""), ("Functie", "", ""), ("Plaats en datum", "", ""), ("Handtekening", "\n\n", "\n\n"),
    ], (40, 65, 65)))

    return build(story, title=f"{kind} {terms.reference}", footer=f"{kind} {terms.reference} — {terms.title}")
