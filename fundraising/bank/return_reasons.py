"""What a returned SEPA collection means for its recurring gift and mandate: one
table, reason code by reason code (the bank's `RtrInf/Rsn/Cd`, DOMAIN.md 7.5), and
the rule that a paid collection makes a failing gift well again.

| code | the bank says | the gift | the mandate | a person |
| --- | --- | --- | --- | --- |
| AM04 | insufficient funds | the next regular collection is the retry (no catch-up amount) | kept | — |
| MS02 | refused by the debtor | paused | kept | asks the donor whether to go on |
| MD06 | refund requested by the debtor | paused | kept | asks the donor whether to go on |
| SL01 | the debtor's bank blocks our direct debits | paused | kept | asks the donor |
| AC01 | account number incorrect | paused | kept | corrects the mandate's IBAN |
| AC04 | account closed | paused | revoked | asks for a new mandate |
| AC06 | account blocked | paused | revoked | asks for a new mandate |
| MD01 | no mandate | paused | revoked | checks the mandate, asks for a new one |
| MD07 | debtor deceased | ended (cancelled), with the donor's agreements | revoked | checks the date of death |
| other, or none | — | as AM04: the next regular collection retries | kept | checks the code with the bank |

Every return except a refund after settlement (MD06 on a settled collection, the
donor's 8-week right) counts as a failed attempt; `max_failures` failures in a row
(`[sepa] max_failures`, default 3) pause a gift that would otherwise be retried.
A gift being retried is `failing`: it is still collected. A paid collection clears
the count and makes a failing gift active again (`after_payment`); a paused gift
stays paused until a person resumes it (`anbi recurring resume`).

Plain functions over plain values; `fundraising.recurring` applies them to a gift.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# `[sepa] max_failures`: failed collections in a row that pause a gift.
from anbi.core.settings import DEFAULT_MAX_FAILURES  # noqa: F401  (the importers' default, read from here)

RETRY, PAUSE, END = "retry", "pause", "end"


@dataclass(frozen=True)
class ReturnRule:
    code: str
    meaning: str                  # what the bank means, in a person's words
    gift: str                     # RETRY, PAUSE or END
    revoke_mandate: bool = False
    follow_up: str | None = None  # what a person should do, or None

    @property
    def label(self) -> str:
        return f"{self.code} ({self.meaning})" if self.code else self.meaning


RULES: dict[str, ReturnRule] = {rule.code: rule for rule in (
    ReturnRule("AM04", "insufficient funds", RETRY),
    ReturnRule("MS02", "refused by the debtor", PAUSE, follow_up="ask the donor whether to go on"),
    ReturnRule("MD06", "refund requested by the debtor", PAUSE, follow_up="ask the donor whether to go on"),
    ReturnRule("SL01", "the debtor's bank blocks our direct debits", PAUSE, follow_up="ask the donor"),
    ReturnRule("AC01", "account number incorrect", PAUSE, follow_up="correct the mandate's IBAN, then resume the gift"),
    ReturnRule("AC04", "account closed", PAUSE, revoke_mandate=True, follow_up="ask the donor for a new mandate"),
    ReturnRule("AC06", "account blocked", PAUSE, revoke_mandate=True, follow_up="ask the donor for a new mandate"),
    ReturnRule("MD01", "no mandate", PAUSE, revoke_mandate=True,
               follow_up="check the mandate and ask the donor for a new one"),
    ReturnRule("MD07", "debtor deceased", END, revoke_mandate=True, follow_up="check the date of death"),
)}


def rule_for(code: str | None) -> ReturnRule:
    """The row of the table for `code`; an unknown code, or none, is retried like
    AM04 and listed for a person to check with the bank."""
    code = (code or "").strip().upper()
    if code in RULES:
        return RULES[code]
    return ReturnRule(code, "return reason not in the table" if code else "returned without a reason", RETRY,
                      follow_up="check the return reason with the bank")


@dataclass(frozen=True)
class GiftAfterReturn:
    status: str
    failed_attempts: int
    status_reason: str | None
    revoke_mandate: bool
    follow_up: str | None        # the line a person reads in the follow-up list, or None


def after_return(code: str | None, *, status: str, failed_attempts: int, status_reason: str | None, refund: bool,
                 max_failures: int, on: dt.date) -> GiftAfterReturn:
    """A recurring gift after one of its collections came back with `code` on `on`.

    `refund`: the donor's refund of a settled collection (MD06), which is no failed
    attempt. A stopped (cancelled) gift stays stopped."""
    rule = rule_for(code)
    attempts = failed_attempts if refund else failed_attempts + 1
    when = f"{rule.label} on {on.isoformat()}"
    if status == "cancelled":
        return GiftAfterReturn(status, attempts, status_reason, rule.revoke_mandate,
                               f"{when}: {rule.follow_up}" if rule.revoke_mandate and rule.follow_up else None)
    if rule.gift == END:
        return GiftAfterReturn("cancelled", attempts, fit_reason(f"ended: {when}"), rule.revoke_mandate,
                               f"{when}: {rule.follow_up}")
    if rule.gift == PAUSE:
        return GiftAfterReturn("paused", attempts, fit_reason(f"paused: {when}; {rule.follow_up}"), rule.revoke_mandate,
                               f"{when}: paused; {rule.follow_up}")
    if attempts >= max_failures and status != "paused":
        reason = f"paused: {attempts} collections failed in a row (last {when}); ask the donor"
        return GiftAfterReturn("paused", attempts, fit_reason(reason), rule.revoke_mandate, reason)
    if status == "paused":   # paused by a person or an earlier return: it stays so
        return GiftAfterReturn(status, attempts, status_reason, rule.revoke_mandate,
                               f"{when}: {rule.follow_up}" if rule.follow_up else None)
    return GiftAfterReturn("failing", attempts, fit_reason(f"failing: {when}; the next regular collection is the retry"),
                           rule.revoke_mandate, f"{when}: {rule.follow_up}" if rule.follow_up else None)


def after_payment(status: str, status_reason: str | None) -> tuple[str, int, str | None]:
    """(status, failed attempts, reason) of a recurring gift after a collection was
    paid: the count is cleared and a failing gift is active again; a paused or
    stopped gift stays as a person (or the table) left it."""
    if status == "failing":
        return "active", 0, None
    return status, 0, status_reason


REASON_LENGTH = 200   # recurring_gifts.status_reason


def fit_reason(text: str) -> str:
    """A status reason cut to fit its column."""
    return text if len(text) <= REASON_LENGTH else text[:REASON_LENGTH - 1] + "…"
