"""Keyword factories for tests: `make_donation(session, amount="25.00")`.

Each flushes (never commits) and fills every required field with a plausible
default, so a test names only what it is about."""
from __future__ import annotations

import datetime as dt
import itertools
import re
from typing import Any

from anbi.core.money import parse_money
from donors import names
from donors.models import Donor
from fundraising.models import (
    Campaign,
    Donation,
    DonationAdjustment,
    Fund,
    Mandate,
    PeriodicAgreement,
    RecurringGift,
)

_seq = itertools.count(1)


def _next() -> int:
    return next(_seq)


def _date(value) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _cents(value) -> int:
    return parse_money(value).cents if isinstance(value, str) else value


def make_donor(session, **fields) -> Donor:
    n = _next()
    fields.setdefault("ref", f"D{n:06d}")
    fields.setdefault("kind", "person")
    if fields["kind"] == "person":
        fields.setdefault("first_name", "Anna")
        fields.setdefault("last_name", f"Jansen{n}")
        fields.setdefault("sort_name", (fields["last_name"] or "").lower())
    else:
        fields.setdefault("organisation_name", f"Bedrijf {n} B.V.")
        fields.setdefault("organisation_type", "company")
        fields.setdefault("sort_name", (fields["organisation_name"] or "").lower())
    name_parts: dict[str, Any] = {
        key: fields.get(key) for key in ("kind", "initials", "first_name", "prefix", "last_name", "organisation_name")}
    fields.setdefault("search_name", names.search_key(names.Name(**name_parts)))
    fields.setdefault("street", "Kerkstraat")
    fields.setdefault("house_number", str(n))
    fields.setdefault("postcode", "1017 GC")
    fields.setdefault("city", "Amsterdam")
    donor = Donor(**fields)
    session.add(donor)
    session.flush()
    return donor


def make_campaign(session, **fields) -> Campaign:
    n = _next()
    fields.setdefault("code", f"C{n}")
    fields.setdefault("name", f"Campagne {n}")
    for key in ("goal", "cost"):
        if key in fields:
            fields[f"{key}_cents"] = _cents(fields.pop(key))
    for key in ("start_on", "end_on"):
        if key in fields:
            fields[key] = _date(fields[key])
    campaign = Campaign(**fields)
    session.add(campaign)
    session.flush()
    return campaign


def make_fund(session, **fields) -> Fund:
    n = _next()
    fields.setdefault("code", f"F{n}")
    fields.setdefault("name", f"Fonds {n}")
    fund = Fund(**fields)
    session.add(fund)
    session.flush()
    return fund


def make_donation(session, **fields) -> Donation:
    n = _next()
    if "donor" not in fields and "donor_id" not in fields:
        fields["donor"] = make_donor(session)
    fields.setdefault("source", "import")
    fields.setdefault("reference", f"R{n:08d}")
    fields["received_on"] = _date(fields.pop("date", fields.get("received_on", "2025-03-01")))
    fields["amount_cents"] = _cents(fields.pop("amount", fields.get("amount_cents", "25.00")))
    if "consideration" in fields:
        fields["consideration_cents"] = _cents(fields.pop("consideration"))
    fields.setdefault("method", "bank_transfer")
    fields.setdefault("status", "paid")
    donation = Donation(**fields)
    session.add(donation)
    session.flush()
    return donation


def make_adjustment(session, donation: Donation, **fields) -> DonationAdjustment:
    n = _next()
    fields.setdefault("kind", "refund")
    fields["amount_cents"] = _cents(fields.pop("amount", fields.get("amount_cents", donation.amount_cents)))
    fields["occurred_on"] = _date(fields.pop("date", fields.get("occurred_on", donation.received_on)))
    fields.setdefault("source", "import")
    fields.setdefault("reference", f"A{n:08d}")
    adjustment = DonationAdjustment(donation=donation, **fields)
    session.add(adjustment)
    session.flush()
    return adjustment


def make_agreement(session, **fields) -> PeriodicAgreement:
    n = _next()
    if "donor" not in fields and "donor_id" not in fields:
        fields["donor"] = make_donor(session)
    fields.setdefault("number", f"PG-2024-{n:04d}")
    fields["annual_amount_cents"] = _cents(fields.pop("annual_amount", fields.get("annual_amount_cents", "600.00")))
    fields["start_date"] = _date(fields.get("start_date", "2024-01-01"))
    fields["signed_on"] = _date(fields.get("signed_on", fields["start_date"]))
    fields.setdefault("years", 5)
    if fields.get("end_date"):
        fields["end_date"] = _date(fields["end_date"])
    agreement = PeriodicAgreement(**fields)
    session.add(agreement)
    session.flush()
    return agreement


def make_mandate(session, **fields) -> Mandate:
    n = _next()
    if "donor" not in fields and "donor_id" not in fields:
        fields["donor"] = make_donor(session)
    fields.setdefault("mandate_id", f"MDT-{n:06d}")
    fields.setdefault("iban", "NL91ABNA0417164300")
    fields["signed_on"] = _date(fields.get("signed_on", "2024-01-01"))
    if fields.get("last_collected_on"):
        fields["last_collected_on"] = _date(fields["last_collected_on"])
    mandate = Mandate(**fields)
    session.add(mandate)
    session.flush()
    return mandate


def make_recurring(session, **fields) -> RecurringGift:
    n = _next()
    if "donor" not in fields and "donor_id" not in fields:
        fields["donor"] = make_donor(session)
    fields.setdefault("reference", f"RG-{n:06d}")
    fields["amount_cents"] = _cents(fields.pop("amount", fields.get("amount_cents", "10.00")))
    fields.setdefault("interval", "monthly")
    fields.setdefault("method", "sepa_debit")
    fields["start_date"] = _date(fields.get("start_date", "2024-01-01"))
    if fields.get("end_date"):
        fields["end_date"] = _date(fields["end_date"])
    gift = RecurringGift(**fields)
    session.add(gift)
    session.flush()
    return gift


# --- subsidies ------------------------------------------------------------------


def grant_toml(**fields) -> str:
    """A grant file's text; `budget=[(code, name, amount)]`, `indicators=[(code, name, target)]`."""
    n = _next()
    budget = fields.pop("budget", [])
    indicators = fields.pop("indicators", [])
    fields.setdefault("reference", f"G-{n:04d}")
    fields.setdefault("title", f"Project {n}")
    fields.setdefault("funder", "Fonds Voorbeeld")
    fields.setdefault("funder_type", "foundation")
    fields.setdefault("kind", "project")
    fields.setdefault("start", "2025-01-01")
    fields.setdefault("end", "2025-12-31")
    fields.setdefault("awarded", "10000.00")
    lines = []
    for key, value in fields.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, int) or key in ("start", "end", "report_due", "settlement_due"):
            lines.append(f"{key} = {value}")
        else:
            lines.append(f'{key} = "{value}"')
    for code, name, amount in budget:
        lines += ["", "[[budget]]", f'code = "{code}"', f'name = "{name}"', f'amount = "{amount}"']
    for code, name, target in indicators:
        lines += ["", "[[indicators]]", f'code = "{code}"', f'name = "{name}"', f"target = {target}"]
    return "\n".join(lines) + "\n"


def make_grant(session, **fields):
    """A grant added through the real grant-file path (`add_grant`)."""
    from subsidies.grants import add_grant, parse_grant_file

    grant, _ = add_grant(session, parse_grant_file(grant_toml(**fields)), actor="factory")
    return grant


def make_expense(session, **fields):
    """A cost recorded through `record_expense`; `grant` and `fund` are references/codes."""
    from subsidies.costs import record_expense

    n = _next()
    expense, _ = record_expense(
        session,
        source=fields.pop("source", "import"),
        reference=fields.pop("reference", f"EXP-{n:06d}"),
        spent_on=_date(fields.pop("date", "2025-03-01")),
        amount_cents=_cents(fields.pop("amount", "100.00")),
        grant_reference=fields.pop("grant", None),
        budget_line=fields.pop("budget_line", None),
        fund_code=fields.pop("fund", None),
        **fields,
    )
    return expense


def make_grant_payment(session, grant, **fields):
    from subsidies.models import GrantPayment

    n = _next()
    payment = GrantPayment(
        grant=grant,
        reference=fields.pop("reference", f"PAY-{n:06d}"),
        paid_on=_date(fields.pop("date", "2025-02-01")),
        amount_cents=_cents(fields.pop("amount", "1000.00")),
        kind=fields.pop("kind", "advance"),
        **fields,
    )
    session.add(payment)
    session.flush()
    return payment


def search(pattern: str, text: str) -> re.Match[str]:
    """`re.search` for what must be in `text`: the test stops here, showing the text, when it is not."""
    found = re.search(pattern, text)
    assert found is not None, f"{pattern!r} not in {text[:300]!r}"
    return found


def active_sheet(path):
    """The sheet a spreadsheet file opens on (a worksheet, as ours always are)."""
    from openpyxl import load_workbook
    from openpyxl.worksheet.worksheet import Worksheet

    sheet = load_workbook(path).active
    assert isinstance(sheet, Worksheet), sheet
    return sheet
