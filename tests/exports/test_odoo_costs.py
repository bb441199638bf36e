"""Odoo's side of the cost pull: the cost lines on each grant's analytic account, read
as plain values for subsidies to import; income on the same account and lines on
accounts that are not expenses are left out. A client double answers the three
reads the way Odoo 19 answers them."""
import datetime as dt
from types import SimpleNamespace
from typing import Any

from exports.odoo.costs import OdooCosts
from subsidies.ledger_costs import BookedCost

PLAN = 7
COLUMN = f"x_plan{PLAN}_id"


class ClientDouble:
    def __init__(self, accounts, lines, general):
        self.accounts, self.lines, self.general = accounts, lines, general
        self.calls = []

    def search_read(self, model, domain, fields, order=None):
        self.calls.append(model)
        assert model == "account.analytic.account" and ["plan_id", "=", PLAN] in domain
        codes = next(value for field, _, value in domain if field == "code")
        return [row for row in self.accounts if row["code"] in codes]

    def search_read_all(self, model, domain, fields, page):
        self.calls.append(model)
        ids = next(value for field, _, value in domain if field == COLUMN)
        return [line for line in self.lines if line[COLUMN][0] in ids]

    def read(self, model, ids, fields):
        self.calls.append(model)
        return [row for row in self.general if row["id"] in ids]


def line(line_id, analytic, amount, account, day="2025-03-10", name="Drukwerk"):
    return {"id": line_id, "name": name, "date": day, "amount": amount,
            "general_account_id": [account, "x"] if account else False, COLUMN: [analytic, "x"]}


def costs(client, references, plans=None):
    # Only what OdooCosts reads of a Ledger: its client and its analytic plans.
    ledger: Any = SimpleNamespace(client=client, plans={"Grants": PLAN} if plans is None else plans)
    return OdooCosts(ledger).booked_costs(references)


def test_cost_lines_of_each_grant_in_three_reads():
    client = ClientDouble(
        accounts=[{"id": 11, "code": "G-A"}, {"id": 12, "code": "G-B"}],
        lines=[line(1, 11, -120.0, 600), line(2, 11, -30.5, 601, "2025-04-02", False), line(3, 11, -75.0, 800),
               line(4, 12, -10.0, 600), line(5, 11, -5.0, None)],
        general=[{"id": 600, "code": "620000", "name": "Materiaal", "account_type": "expense"},
                 {"id": 601, "code": "611000", "name": "Personeel", "account_type": "expense_direct_cost"},
                 {"id": 800, "code": "800000", "name": "Giften", "account_type": "income"}],
    )
    booked = costs(client, ["G-A", "G-B", "G-C"])
    assert client.calls == ["account.analytic.account", "account.analytic.line", "account.account"]
    assert booked.ready and booked.notes == ["grant G-C: no analytic account in Odoo yet"]
    assert booked.by_grant == {
        "G-A": [BookedCost("analytic-line:1", dt.date(2025, 3, 10), 12000, "620000", "Materiaal", "Drukwerk"),
                BookedCost("analytic-line:2", dt.date(2025, 4, 2), 3050, "611000", "Personeel", None)],
        "G-B": [BookedCost("analytic-line:4", dt.date(2025, 3, 10), 1000, "620000", "Materiaal", "Drukwerk")],
    }


def test_without_the_grants_plan_nothing_is_read():
    client = ClientDouble([], [], [])
    booked = costs(client, ["G-A"], plans={})
    assert not booked.ready and booked.notes == ["Odoo has no analytic plan 'Grants' yet: nothing is booked on a grant"]
    assert client.calls == []
