"""The Odoo error family: what the CLI prints as one line when Odoo is unreachable,
refuses our key, has no such database, keeps its books in another currency or in
locked periods, or refuses what we send — each saying what happened and what to do.

Nothing here talks to Odoo: the client and the sync raise these with the facts."""
from __future__ import annotations

import datetime as dt

from anbi.core.errors import AnbiError, ConfigurationError

RIGHTS_HINT = ("the Odoo user of [odoo] api_key needs the rights 'Accounting: Invoicing' and 'Contact: Creation' "
               "(docs/odoo.md, 'The Odoo user')")
RERUN = ("run `anbi odoo sync` again: it looks every partner and entry up by its ref before creating it, "
         "so nothing is booked twice")


class OdooError(AnbiError):
    """Talking to Odoo failed."""


class OdooUnreachable(OdooError):
    """No answer. `maybe_done`: the request reached Odoo, which may have carried it out."""

    def __init__(self, url: str, reason: str, *, maybe_done: bool = False):
        self.url = url
        self.reason = reason
        self.maybe_done = maybe_done
        super().__init__(f"Odoo at {url} is unreachable: {reason}. Check [odoo] url and the network")


class OdooAuthenticationFailed(OdooError):
    def __init__(self, url: str, database: str, protocol: str):
        self.url = url
        self.database = database
        what = "API key" if protocol == "json2" else "login or API key/password"
        super().__init__(f"Odoo at {url} (database {database!r}) refused our {what}: check [odoo] api_key"
                         + (" and login" if protocol == "jsonrpc" else "")
                         + " (an API key is made in Odoo under Preferences > Account Security; "
                           "a non-admin user's key expires, at most 90 days after it was made)")


class OdooDatabaseNotFound(OdooError):
    """The server answered, but not for this database (JSON-2 answers with an HTML 404 page)."""

    def __init__(self, url: str, database: str):
        self.url = url
        self.database = database
        super().__init__(f"Odoo at {url} has no database {database!r} (or its --db-filter hides it): "
                         "check [odoo] database; nothing was sent")


class OdooBadAnswer(OdooError):
    """An answer that is not Odoo's JSON: a proxy's error page, a maintenance page, ..."""

    def __init__(self, url: str, status: int, summary: str):
        self.url = url
        self.status = status
        super().__init__(f"Odoo at {url} answered HTTP {status} with a page instead of Odoo's JSON"
                         + (f" ({summary})" if summary else "") + ": check [odoo] url")


class OdooRefused(OdooError):
    """Odoo answered with an error of its own (its exception name and message)."""

    def __init__(self, name: str, message: str, model: str, method: str, hint: str = ""):
        self.name = name
        self.odoo_message = message
        self.model = model
        self.method = method
        short = name.rsplit(".", 1)[-1] if name else "error"
        text = " ".join((message or "").split())
        super().__init__(f"Odoo refused {model}.{method} ({short}): {text}" + (f" — {hint}" if hint else ""))


class UnbalancedEntry(OdooRefused):
    pass


class AnalyticAccountingOff(OdooRefused):
    pass


class EntryRefused(OdooError):
    """Odoo refused one entry of ours: which one, after how many were sent."""

    def __init__(self, ref: str, refusal: OdooError, sent: int, total: int):
        self.ref = ref
        self.refusal = refusal
        super().__init__(f"{refusal} (entry {ref}; {sent} of {total} entries were sent and recorded "
                         "before it, the others wait in our database)")


class SyncInterrupted(OdooError):
    """The connection broke off mid-sync: how far it got, and that a re-run is safe."""

    def __init__(self, cause: OdooError, what: str, done: int, total: int, in_flight: int = 0):
        self.cause = cause
        self.done = done
        self.total = total
        flight = (f"; the {in_flight} in flight may or may not have reached Odoo" if in_flight else "")
        recorded = "sent and recorded" if what == "entries" else "sent"
        super().__init__(f"{str(cause).rstrip('.')}. {done} of {total} {what} were {recorded} before that{flight}; "
                         f"{RERUN}")


class WrongCurrency(OdooError):
    """Odoo books in another currency than our gifts: every amount would be read as that currency."""

    def __init__(self, where: str, odoo_currency: str, ours: str):
        self.odoo_currency = odoo_currency
        super().__init__(f"{where} keeps its books in {odoo_currency} and the gifts are in {ours}: nothing was sent. "
                         f"Book in an Odoo company (or [odoo] journal) whose currency is {ours}")


class LockedPeriod(OdooError):
    """Entries dated on or before Odoo's lock date: Odoo would book them on a later date."""

    def __init__(self, lock_date: dt.date, count: int, first_ref: str, first_date: dt.date):
        self.lock_date = lock_date
        self.count = count
        super().__init__(
            f"Odoo's books are locked up to {lock_date.isoformat()}: {count} entr{'y' if count == 1 else 'ies'} of ours "
            f"{'is' if count == 1 else 'are'} dated on or before it (the first: {first_ref} of {first_date.isoformat()}) "
            "and Odoo would book them on a later date. Nothing was sent. Ask the accountant to move the lock date, "
            'or set [odoo] on_lock_date = "report" to let Odoo book them on its first open day (each is listed)')


class EntriesRedated(OdooError):
    """Odoo booked entries on another date than ours (on_lock_date = "stop")."""

    def __init__(self, moved: list, sent: int, total: int):
        self.moved = moved
        listed = ", ".join(f"{m.ref} {m.date.isoformat()} -> {m.odoo_date.isoformat()}" for m in moved[:5])
        more = f" and {len(moved) - 5} more" if len(moved) > 5 else ""
        super().__init__(
            f"Odoo booked {len(moved)} entr{'y' if len(moved) == 1 else 'ies'} on another date than ours "
            f"({listed}{more}), a lock date most likely; they are recorded with Odoo's date. The sync stopped "
            f"after {sent} of {total} entries (on_lock_date = \"stop\"): check them with the accountant, then "
            "run it again")


class UnknownAccounts(ConfigurationError):
    """Account codes from [odoo.accounts] that do not exist in Odoo's chart."""

    def __init__(self, missing: dict[str, str]):
        self.missing = missing
        listed = ", ".join(f"{code} ([odoo.accounts] {key})" for key, code in sorted(missing.items()))
        super().__init__(f"account code(s) not found in Odoo's chart of accounts: {listed}; "
                         "create them in Odoo or correct [odoo.accounts] in anbi.toml")


class WrongAccountTypes(ConfigurationError):
    """Accounts of [odoo.accounts] whose type in Odoo does not fit what they are used for."""

    def __init__(self, wrong: list[tuple[str, str, str, str, str]]):
        # (key, code, account name, its type, what the key needs)
        self.wrong = wrong
        listed = "; ".join(f"[odoo.accounts] {key} = {code} is {name!r} of type {kind} in Odoo, {needs}"
                           for key, code, name, kind, needs in wrong)
        super().__init__(f"{listed}: correct [odoo.accounts] in anbi.toml (nothing was sent)")


ANALYTIC_HINT = ("analytic accounting is off in Odoo: turn it on under Accounting > Configuration > Settings > "
                 "Analytics > Analytic Accounting (group 'Analytic Accounting'), or give the API user "
                 "'Show Full Accounting Features', then run the sync again (restart Odoo if it still says so)")


def refusal(error: dict, model: str, method: str, settings) -> OdooError:
    """The right error for an Odoo error body (`name`, `message`)."""
    name, message = error.get("name") or "", error.get("message") or ""
    if name in ("odoo.exceptions.AccessDenied", "werkzeug.exceptions.Unauthorized"):
        return OdooAuthenticationFailed(settings.url, settings.database, settings.protocol)
    if name == "psycopg2.OperationalError" and "does not exist" in message and "database" in message:
        return OdooDatabaseNotFound(settings.url, settings.database)
    if name == "odoo.exceptions.AccessError" and ("analytic" in message.lower() or model.startswith("account.analytic")):
        return AnalyticAccountingOff(name, message.split("\n")[0], model, method, ANALYTIC_HINT)
    if name == "odoo.exceptions.AccessError":
        return OdooRefused(name, message.split("\n")[0], model, method, RIGHTS_HINT)
    if "not balanced" in message.lower():
        return UnbalancedEntry(name, message, model, method,
                               "debits and credits of an entry must be equal; this is a bug on our side, please report it")
    if name == "werkzeug.exceptions.NotFound" or "doesn't exist" in message:
        return OdooRefused(name, message, model, method, "is the Accounting app installed in this database?")
    return OdooRefused(name, message, model, method)
