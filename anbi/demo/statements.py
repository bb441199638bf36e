"""The demo's statements step: issue the demo year's annual gift statements into
OUT/receipts and say how many, with their totals; then check the periodic gift
agreements of that year.

Statements need an organisation identity. The demo uses `[organisation]` from
anbi.toml when there is one; otherwise a built-in identity that is plainly not a
real charity — "Stichting Demo (voorbeeld, geen echte ANBI)" with an RSIN that
passes the 11-proof — so that `anbi demo` works out of the box and nobody mistakes
its PDFs for real ones.
"""
from __future__ import annotations

import random
from pathlib import Path

from anbi.context import AppContext
from anbi.core.money import format_dutch
from anbi.core.settings import Organisation
from exports.statements.issue import issue_statements
from fundraising.statements.agreement_check import check_agreements

DEMO_YEAR = 2025
DEMO_ORGANISATION = Organisation(
    name="Stichting Demo (voorbeeld, geen echte ANBI)",
    rsin="824150004",  # 11-proof: 8·9+2·8+4·7+1·6+5·5+0+0+0−4 = 143 = 13·11
    address="Postbus 1234, 1000 AB Amsterdam",
    website="https://demo.example",
)


def issue_demo_statements(app: AppContext, out_dir: Path, rng: random.Random) -> list[str]:
    organisation = app.settings.organisation or DEMO_ORGANISATION
    lines = []
    if app.settings.organisation is None:
        lines.append(f"organisation: built-in demo identity {organisation.name}, RSIN {organisation.rsin} "
                     "(set [organisation] in anbi.toml for your own)")
    report = issue_statements(app.session, year=DEMO_YEAR, out_dir=Path(out_dir) / "receipts",
                              organisation=organisation, actor=app.actor)
    totals = report.totals
    lines.append(f"statements {DEMO_YEAR}: {report.current} current ({len(report.issued)} new, "
                 f"{len(report.corrections)} corrections, {report.unchanged} unchanged) in {report.out_dir}/")
    lines.append(f"totals: ordinary {format_dutch(totals['regular'])}, periodic {format_dutch(totals['periodic'])}, "
                 f"not deductible {format_dutch(totals['non_deductible'])}, "
                 f"total received {format_dutch(totals['total_paid'])}")
    if report.restricted:
        lines.append(f"no statement for restricted or purged donors: {', '.join(report.restricted)}")
    if report.excluded:
        lines.append(f"left off (not in euro): {len(report.excluded)} gifts")
    with app.session() as session:
        differing = check_agreements(session, DEMO_YEAR)
    lines.append(f"periodic gift agreements {DEMO_YEAR}: {len(differing)} received other than agreed"
                 + (": " + ", ".join(f"{row.check.number} ({', '.join(row.check.problems)})" for row in differing[:5])
                    if differing else ""))
    return lines
