"""The subsidies error family: what a person did wrong or asked too early, with the
facts as attributes. The CLI prints one line; the web app maps them to a status."""
from __future__ import annotations

from anbi.core.errors import Conflict, NotFound
from anbi.core.spelling import did_you_mean


class GrantNotFound(NotFound):
    """No grant has this reference; `suggestion` is the one that differs only in case."""

    def __init__(self, reference: str, suggestion: str | None = None):
        self.reference = reference
        self.suggestion = suggestion
        super().__init__(did_you_mean(f"no grant {reference!r}", suggestion) + " (see `anbi grants list`)")


class GrantConflict(Conflict):
    """A grant file names an existing grant with other content: a beschikking is not
    edited by re-adding its file."""

    def __init__(self, reference: str, fields: list[str]):
        self.reference = reference
        self.fields = list(fields)
        what = ", ".join(self.fields) if self.fields else "its content"
        super().__init__(
            f"grant {reference!r} already exists with other content ({what} differ); "
            "a grant file cannot change a grant — use a new reference for an amended decision"
        )


class GrantTransitionRefused(Conflict):
    """A lifecycle step asked of a grant in a state it does not start from."""

    def __init__(self, reference: str, action: str, status: str, allowed_from: tuple[str, ...]):
        self.reference = reference
        self.action = action
        self.status = status
        self.allowed_from = allowed_from
        super().__init__(
            f"grant {reference!r} is {status}: `{action}` is only possible when it is {' or '.join(allowed_from)}"
        )


class GrantBalanceOpen(Conflict):
    """`close` asked of a settled grant whose money is not settled up yet: the
    vaststelling leaves an amount to receive or to repay."""

    def __init__(self, reference: str, balance_cents: int):
        from anbi.core.money import format_dutch

        self.reference = reference
        self.balance_cents = balance_cents
        if balance_cents > 0:
            what = (f"{format_dutch(balance_cents)} is still to receive from the funder: import its final payment "
                    "(kind settlement)")
        else:
            what = f"{format_dutch(-balance_cents)} is still to repay to the funder: import the repayment (kind repayment)"
        super().__init__(f"grant {reference!r} cannot be closed: {what} with `anbi grants payments import FILE`, "
                         "then close it")


class FundNotFound(NotFound):
    """No fund has this code; `suggestion` is the code that differs only in case."""

    def __init__(self, code: str, suggestion: str | None = None):
        self.code = code
        self.suggestion = suggestion
        hint = "" if suggestion else " (add it with `anbi funds add`)"
        super().__init__(did_you_mean(f"no fund {code!r}", suggestion) + hint)


class ExpenseConflict(Conflict):
    """A cost key that exists with other content: money is corrected by a new row."""

    def __init__(self, source: str, reference: str, fields: list[str]):
        self.source = source
        self.reference = reference
        self.fields = list(fields)
        super().__init__(
            f"cost {reference!r} ({source}) already exists with other {', '.join(self.fields)}; "
            "a cost is corrected by a new row, never overwritten"
        )
