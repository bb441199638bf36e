"""The Odoo error family: what the CLI prints as one line when Odoo is unreachable,
refuses our key, or refuses what we send — each saying what to do about it."""
from __future__ import annotations

from anbi.core.errors import AnbiError, ConfigurationError


class OdooError(AnbiError):
    """Talking to Odoo failed."""


class OdooUnreachable(OdooError):
    def __init__(self, url: str, reason: str):
        self.url = url
        self.reason = reason
        super().__init__(f"Odoo at {url} is unreachable: {reason}. Check [odoo] url and the network; "
                         "nothing was changed on our side, run the sync again when it is back")


class OdooAuthenticationFailed(OdooError):
    def __init__(self, url: str, database: str, protocol: str):
        self.url = url
        self.database = database
        what = "API key" if protocol == "json2" else "login or API key/password"
        super().__init__(f"Odoo at {url} (database {database!r}) refused our {what}: check [odoo] api_key"
                         + (" and login" if protocol == "jsonrpc" else "")
                         + " (an API key is made in Odoo under Preferences > Account Security)")


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


class UnknownAccounts(ConfigurationError):
    """Account codes from [odoo.accounts] that do not exist in Odoo's chart."""

    def __init__(self, missing: dict[str, str]):
        self.missing = missing
        listed = ", ".join(f"{code} ([odoo.accounts] {key})" for key, code in sorted(missing.items()))
        super().__init__(f"account code(s) not found in Odoo's chart of accounts: {listed}; "
                         "create them in Odoo or correct [odoo.accounts] in anbi.toml")


ANALYTIC_HINT = ("analytic accounting is off in Odoo: turn it on under Accounting > Configuration > Settings > "
                 "Analytics > Analytic Accounting (group 'Analytic Accounting'), or give the API user "
                 "'Show Full Accounting Features', then run the sync again")


def refusal(error: dict, model: str, method: str, settings) -> OdooError:
    """The right error for an Odoo error body (`name`, `message`)."""
    name, message = error.get("name") or "", error.get("message") or ""
    if name in ("odoo.exceptions.AccessDenied", "werkzeug.exceptions.Unauthorized"):
        return OdooAuthenticationFailed(settings.url, settings.database, settings.protocol)
    if name == "odoo.exceptions.AccessError" and ("analytic" in message.lower() or model.startswith("account.analytic")):
        return AnalyticAccountingOff(name, message.split("\n")[0], model, method, ANALYTIC_HINT)
    if "not balanced" in message.lower():
        return UnbalancedEntry(name, message, model, method,
                               "debits and credits of an entry must be equal; this is a bug on our side, please report it")
    if name == "werkzeug.exceptions.NotFound" or "doesn't exist" in message:
        return OdooRefused(name, message, model, method, "is the Accounting app installed in this database?")
    return OdooRefused(name, message, model, method)
