"""Odoo's side of `anbi odoo pull-costs`: the costs booked on each grant's analytic
account, for `subsidies.ledger_costs` to import as the grant's expenses.

This module fills the port (`subsidies.ledger_costs.CostLedger`) and writes nothing:
the expenses are written where grants live. Three requests for all grants: their
analytic accounts (plan "Grants", code = the grant's reference), the cost lines
booked on them (read in pages), the accounts those lines are on. Only cost lines
count (expense accounts, negative analytic amounts): a grant's analytic account also
carries its income.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from exports.odoo.sync import EXPENSE_TYPES, PAGE, Ledger, _first_by, _many2one, cents_of
from subsidies.ledger_costs import BookedCost, BookedCosts


class OdooCosts:
    """The costs Odoo books on grants (`CostLedger`), through an open `Ledger`."""

    source = "odoo"

    def __init__(self, ledger: Ledger):
        self.ledger = ledger

    def booked_costs(self, grant_references: Sequence[str]) -> BookedCosts:
        client = self.ledger.client
        booked = BookedCosts()
        plan_id = self.ledger.plans.get("Grants")
        if plan_id is None:
            booked.notes.append("Odoo has no analytic plan 'Grants' yet: nothing is booked on a grant")
            booked.ready = False
            return booked
        column = f"x_plan{plan_id}_id"
        analytic = {code: row["id"] for code, row in _first_by(client.search_read(
            "account.analytic.account", [["code", "in", list(grant_references)], ["plan_id", "=", plan_id]],
            ["code"], order="id"), "code").items()} if grant_references else {}
        lines_by_account: dict[int, list[dict]] = defaultdict(list)
        if analytic:
            for line in client.search_read_all("account.analytic.line", [[column, "in", sorted(analytic.values())], ["amount", "<", 0]],
                                               ["name", "date", "amount", "general_account_id", column], page=PAGE):
                lines_by_account[_many2one(line[column])].append(line)
        ids = sorted({line["general_account_id"][0] for lines in lines_by_account.values() for line in lines
                      if line["general_account_id"]})
        account_info = {row["id"]: row for row in client.read("account.account", ids, ["code", "name", "account_type"])}
        for reference in grant_references:
            if reference not in analytic:
                booked.notes.append(f"grant {reference}: no analytic account in Odoo yet")
                continue
            costs = booked.by_grant.setdefault(reference, [])
            for line in lines_by_account[analytic[reference]]:
                account = account_info.get(line["general_account_id"][0]) if line["general_account_id"] else None
                if account is None or account["account_type"] not in EXPENSE_TYPES:
                    continue  # only costs count: the grant's analytic account also carries income
                costs.append(BookedCost(
                    reference=f"analytic-line:{line['id']}", booked_on=dt.date.fromisoformat(line["date"]),
                    amount_cents=-cents_of(line["amount"]), account_code=account["code"],
                    account_name=account["name"], description=line["name"] or None,
                ))
        return booked
