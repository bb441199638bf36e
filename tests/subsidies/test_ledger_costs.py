"""Grant costs booked in the ledger become the grant's expenses, written here in
subsidies; the ledger is a port, filled in these tests by a double as `exports.odoo.costs`
fills it from Odoo."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from anbi.core.errors import InvalidInput
from subsidies.errors import GrantNotFound
from subsidies.ledger_costs import BookedCost, BookedCosts, pull_costs
from subsidies.models import Expense
from subsidies.grants import add_grant, parse_grant_file
from tests.factories import grant_toml


class LedgerDouble:
    """What a ledger says it books on each grant, and which grants it was asked about."""

    source = "odoo"

    def __init__(self, by_grant=None, notes=(), ready=True):
        self.by_grant = by_grant or {}
        self.notes = list(notes)
        self.ready = ready
        self.asked: list[list[str]] = []

    def booked_costs(self, grant_references):
        self.asked.append(list(grant_references))
        return BookedCosts({ref: costs for ref, costs in self.by_grant.items() if ref in grant_references},
                           list(self.notes), self.ready)


def cost(line_id: int, amount_cents: int, account_code: str = "620000", day: str = "2025-03-10") -> BookedCost:
    return BookedCost(reference=f"analytic-line:{line_id}", booked_on=dt.date.fromisoformat(day),
                      amount_cents=amount_cents, account_code=account_code, account_name="Materiaal",
                      description=f"line {line_id}")


def grant(session, reference: str, mapping: dict[str, str]):
    text = grant_toml(reference=reference, budget=[("material", "Materiaal", "5000.00"), ("staff", "Personeel", "5000.00")])
    text += "\n[odoo.budget_lines]\n" + "".join(f'"{code}" = "{line}"\n' for code, line in mapping.items())
    return add_grant(session, parse_grant_file(text), actor="test")[0]


def expenses(session):
    return [(e.source, e.reference, e.spent_on, e.amount_cents, e.budget_line.code)
            for e in session.scalars(select(Expense).order_by(Expense.reference))]


def test_booked_costs_become_expenses_on_their_budget_line_once(session):
    grant(session, "G-A", {"620000": "material", "611000": "staff"})
    ledger = LedgerDouble({"G-A": [cost(1, 12000), cost(2, 3050, "611000", "2025-04-02")]})
    summary = pull_costs(session, ledger, grant_reference="G-A")
    assert (summary.grants, summary.created, summary.already, summary.total_cents) == (1, 2, 0, 15050)
    assert expenses(session) == [("odoo", "analytic-line:1", dt.date(2025, 3, 10), 12000, "material"),
                                 ("odoo", "analytic-line:2", dt.date(2025, 4, 2), 3050, "staff")]
    again = pull_costs(session, ledger, grant_reference="G-A")
    assert (again.created, again.already, again.total_cents) == (0, 2, 0)
    assert len(expenses(session)) == 2


def test_every_grant_is_asked_about_in_reference_order_and_the_ledger_notes_are_kept(session):
    grant(session, "G-B", {})
    grant(session, "G-A", {})
    ledger = LedgerDouble(notes=["grant G-B: no analytic account in Odoo yet"])
    summary = pull_costs(session, ledger)
    assert ledger.asked == [["G-A", "G-B"]]
    assert (summary.grants, summary.created, summary.notes) == (2, 0, ["grant G-B: no analytic account in Odoo yet"])


def test_an_unmapped_account_stops_the_pull_naming_it_and_nothing_is_written(session):
    grant(session, "G-A", {"620000": "material"})
    ledger = LedgerDouble({"G-A": [cost(1, 12000), cost(2, 500, "999000")]})
    with pytest.raises(InvalidInput) as caught:
        pull_costs(session, ledger)
    [problem] = caught.value.problems
    assert problem.field == "grant G-A [odoo.budget_lines]"
    assert problem.reason.startswith("Odoo account 999000 (Materiaal) maps to no budget line")
    assert session.scalar(select(func.count()).select_from(Expense)) == 0


def test_a_ledger_that_books_nothing_on_grants_yet_writes_nothing(session):
    grant(session, "G-A", {"620000": "material"})
    ledger = LedgerDouble({"G-A": [cost(1, 12000)]}, notes=["no plan yet"], ready=False)
    summary = pull_costs(session, ledger)
    assert (summary.created, summary.notes) == (0, ["no plan yet"])
    assert session.scalar(select(func.count()).select_from(Expense)) == 0


def test_an_unknown_grant_is_named(session):
    with pytest.raises(GrantNotFound):
        pull_costs(session, LedgerDouble(), grant_reference="G-NONE")
