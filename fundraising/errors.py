"""The fundraising error family: what the CLI prints as one line and the web app maps
to an HTTP status. Each carries its facts as attributes; none knows about exit codes
or HTTP."""
from __future__ import annotations

from anbi.core.errors import Conflict, NotFound
from anbi.core.spelling import did_you_mean


class CampaignNotFound(NotFound):
    """No campaign has this code; `suggestion` is the code that differs only in case."""

    def __init__(self, code: str, suggestion: str | None = None):
        self.code = code
        self.suggestion = suggestion
        super().__init__(did_you_mean(f"campaign {code!r} does not exist", suggestion))


class CampaignExists(Conflict):
    def __init__(self, code: str):
        self.code = code
        super().__init__(f"campaign {code!r} already exists")


class DonationNotFound(NotFound):
    def __init__(self, reference: str):
        self.reference = reference
        super().__init__(f"donation {reference!r} does not exist")


class DonationConflict(Conflict):
    """The same (source, reference) arrived again with different money: money is
    corrected by a new row, never overwritten (DESIGN.md, Idempotency)."""

    def __init__(self, source: str, reference: str, differences: dict[str, tuple[object, object]]):
        self.source = source
        self.reference = reference
        self.differences = differences
        what = ", ".join(f"{field} {old} -> {new}" for field, (old, new) in differences.items())
        super().__init__(
            f"donation {source}/{reference} already exists with different money ({what}); "
            "money is never overwritten: record a refund or a new donation instead"
        )


class AdjustmentConflict(Conflict):
    def __init__(self, source: str, reference: str, differences: dict[str, tuple[object, object]]):
        self.source = source
        self.reference = reference
        self.differences = differences
        what = ", ".join(f"{field} {old} -> {new}" for field, (old, new) in differences.items())
        super().__init__(f"adjustment {source}/{reference} already exists with different content ({what})")


class DonationStateError(Conflict):
    """A guarded state change asked of a donation in the wrong state."""

    def __init__(self, reference: str, status: str, wanted: str):
        self.reference = reference
        self.status = status
        self.wanted = wanted
        super().__init__(f"donation {reference!r} is {status}: cannot {wanted}")


class RecurringGiftNotFound(NotFound):
    def __init__(self, reference: str):
        self.reference = reference
        super().__init__(f"recurring gift {reference!r} does not exist")


class RecurringGiftStateError(Conflict):
    """A guarded change asked of a recurring gift that its state refuses; `why` says
    what the state is and, where there is one, what to do instead."""

    def __init__(self, reference: str, status: str, why: str):
        self.reference = reference
        self.status = status
        self.why = why
        super().__init__(f"recurring gift {reference} {why}")


class AgreementNotFound(NotFound):
    def __init__(self, number: str):
        self.number = number
        super().__init__(f"periodic gift agreement {number!r} does not exist")


class AgreementStateError(Conflict):
    def __init__(self, number: str, status: str, wanted: str):
        self.number = number
        self.status = status
        self.wanted = wanted
        super().__init__(f"periodic gift agreement {number!r} is {status}: cannot {wanted}")
