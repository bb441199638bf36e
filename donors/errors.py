"""The donors package's errors, with the facts as attributes (STYLE.md 8).

The CLI turns them into one line on stderr; the web app into an HTTP status."""
from __future__ import annotations

from anbi.core.errors import Conflict, NotFound
from anbi.core.spelling import did_you_mean


class DonorNotFound(NotFound):
    """No donor has this ref (not even one merged into another)."""

    def __init__(self, ref: str, suggestion: str | None = None):
        self.ref = ref
        self.suggestion = suggestion  # a ref that differs only in case
        super().__init__(did_you_mean(f"no donor with ref {ref!r}", suggestion))


class DonorInactive(Conflict):
    """The donor exists but may not be processed this way (restricted or purged)."""

    def __init__(self, ref: str, reason: str):
        self.ref = ref
        self.reason = reason
        super().__init__(f"donor {ref!r} is {reason}")


class MergeRefused(Conflict):
    """Two donors that may not be merged (the same record, or one already merged)."""

    def __init__(self, keep_ref: str, duplicate_ref: str, reason: str):
        self.keep_ref = keep_ref
        self.duplicate_ref = duplicate_ref
        self.reason = reason
        super().__init__(f"cannot merge {duplicate_ref} into {keep_ref}: {reason}")


class ErasureRefused(Conflict):
    """A donor who may not be forgotten yet; `reason` says what must happen first."""

    def __init__(self, ref: str, reason: str):
        self.ref = ref
        self.reason = reason
        super().__init__(f"cannot forget donor {ref}: {reason}")
