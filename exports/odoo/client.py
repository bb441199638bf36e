"""One small adapter over odoo-client-lib: the calls the ledger sync makes, the same
way over JSON-2 (Odoo 19+, API key; the default) and JSON-RPC (Odoo 17–18, login
and password or API key), with an explicit timeout and retries on connection errors.

odoo-client-lib speaks the protocols (paths, payloads, positional-to-named mapping)
but calls module-level `httpx.post`/`httpx.get`, with a fixed 60 s timeout on
JSON-2 and httpx's 5 s default on JSON-RPC. For the duration of each call the
adapter puts a small shim in their place that sends through one `httpx.Client` of
ours (our timeout, kept-alive connections). Only connection failures — the request
certainly did not reach Odoo — are retried; a timeout while Odoo was working is not
retried for a write, because Odoo may have done it (the sync finds such an entry by
its ref on the next run).

Every answer is normalised (JSON-2 `create` returns a list of ids, JSON-RPC an int;
JSON-2 `read` returns a bare dict for one row) and every refusal becomes one of the
errors in `exports.odoo.errors` — also an answer that is not Odoo's JSON (JSON-2 answers
a database it does not serve with an HTML 404 page).

`create_many` sends any number of records in one request (both protocols take a list)
with the context `CREATE_CONTEXT`. This module never decides what is booked.
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import odoolib
import odoolib.json2
import odoolib.tools

from anbi.core.errors import ConfigurationError
from anbi.core.settings import ODOO_PROTOCOLS, ODOO_RETRIES, ODOO_TIMEOUT, OdooSection
from exports.odoo.errors import (
    OdooAuthenticationFailed,
    OdooBadAnswer,
    OdooDatabaseNotFound,
    OdooUnreachable,
    refusal,
)

PROTOCOLS = ODOO_PROTOCOLS
READ_METHODS = {"search", "search_read", "read", "search_count", "fields_get", "context_get", "name_search"}
DEFAULT_TIMEOUT = ODOO_TIMEOUT
DEFAULT_RETRIES = ODOO_RETRIES
# Without it Odoo makes the API user a follower of every partner and entry it creates:
# measured on Odoo 19, that is two thirds of the time of a create (4.3 ms instead of
# 1.4 ms a partner, 35 ms instead of 12 ms an entry). The chatter's "created" note and
# the tracking of changes (Odoo's audit trail) stay.
CREATE_CONTEXT = {"mail_create_nosubscribe": True}


@dataclass(frozen=True)
class OdooSettings:
    url: str
    database: str
    protocol: str
    login: str
    api_key: str
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES

    @classmethod
    def from_settings(cls, values: OdooSection | Mapping[str, Any]) -> OdooSettings:
        """The connection of `[odoo]` (checked when the settings were read); every
        value it needs and nobody gave is named at once."""
        section, problems, missing = OdooSection.needing(values, "url", "database", "api_key", "login")
        if section.protocol != "jsonrpc" and "login" in missing:
            missing.remove("login")   # json2 signs in with the API key alone
        problems = [f"[odoo] {key} is required" for key in missing] + problems
        if problems:
            raise ConfigurationError("; ".join(problems))
        return cls(url=section.url, database=section.database, protocol=section.protocol, login=section.login,
                   api_key=section.api_key, timeout=section.timeout, retries=section.retries)


class _Shim:
    """Stands in for the `httpx` module inside odoolib: same call shape, our client."""

    def __init__(self, client: httpx.Client):
        self._client = client

    def post(self, url, *, json=None, headers=None, cookies=None, timeout=None, **_):
        return self._client.post(url, json=json, headers=headers)

    def get(self, url, *, headers=None, cookies=None, timeout=None, **_):
        return self._client.get(url, headers=headers)


class OdooClient:
    """The calls the sync needs. Use as a context manager; close() releases the connection."""

    def __init__(self, settings: OdooSettings, *, transport: httpx.BaseTransport | None = None):
        self.settings = settings
        self._http = httpx.Client(timeout=settings.timeout, transport=transport)
        self._shim = _Shim(self._http)
        parts = urlsplit(settings.url)
        secure = parts.scheme == "https"
        port = parts.port or (443 if secure else 80)
        protocol = settings.protocol + ("s" if secure else "")
        if settings.protocol == "json2":
            self._connection = odoolib.get_connection(
                hostname=parts.hostname, protocol=protocol, port=port, database=settings.database,
                password=settings.api_key)
        else:
            self._connection = odoolib.get_connection(
                hostname=parts.hostname, protocol=protocol, port=port, database=settings.database,
                login=settings.login, password=settings.api_key)
        self._models: dict[str, Any] = {}

    def __enter__(self) -> OdooClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- the calls ---------------------------------------------------------------

    def check_login(self) -> None:
        """Raise OdooAuthenticationFailed unless the key (or login) is accepted."""
        def login():
            if self.settings.protocol == "json2":
                return self._connection.check_login()
            try:
                self._connection.check_login(force=True)
                return True
            except odoolib.tools.AuthenticationError:
                return False
        if not self._call("res.users", "context_get", login):
            raise OdooAuthenticationFailed(self.settings.url, self.settings.database, self.settings.protocol)

    def search(self, model: str, domain: list, *, limit: int | None = None, order: str | None = None) -> list[int]:
        options = _options(limit=limit, order=order)
        return list(self._call(model, "search", lambda: self._model(model).search(domain=domain, **options)
                               if self._json2 else self._model(model).search(domain, **options)))

    def search_read(self, model: str, domain: list, fields: list[str], *, limit: int | None = None,
                    order: str | None = None, offset: int | None = None) -> list[dict]:
        options = _options(offset=offset, limit=limit, order=order)
        if self._json2:
            rows = self._call(model, "search_read", lambda: self._model(model).search_read(
                domain=domain, fields=fields, **options))
        else:
            # The server's own search_read in one request (odoolib's Model.search_read makes two).
            rows = self._call(model, "search_read", lambda: self._connection.get_service("object").execute_kw(
                self.settings.database, self._uid(), self.settings.api_key, model, "search_read", [domain],
                {"fields": fields, **options}))
        return list(rows)

    def search_read_all(self, model: str, domain: list, fields: list[str], *, page: int = 1000) -> list[dict]:
        """Every matching row, read in pages of `page` rows (ordered by id, so a page
        boundary neither skips nor repeats a row)."""
        rows: list[dict] = []
        while True:
            options = {"offset": len(rows)} if rows else {}
            batch = self.search_read(model, domain, fields, limit=page, order="id", **options)
            rows += batch
            if len(batch) < page:
                return rows

    def read(self, model: str, ids: list[int], fields: list[str]) -> list[dict]:
        if not ids:
            return []
        if self._json2:
            rows = self._call(model, "read", lambda: self._model(model).read(ids=list(ids), fields=fields))
            return [rows] if isinstance(rows, dict) else list(rows)
        rows = self._call(model, "read", lambda: self._model(model).read(list(ids), fields))
        return [rows] if isinstance(rows, dict) else list(rows or [])

    def create(self, model: str, values: dict) -> int:
        return self.create_many(model, [values])[0]

    def create_many(self, model: str, values: list[dict]) -> list[int]:
        """All records in one request: Odoo creates them in one transaction, all or none."""
        if not values:
            return []
        values = list(values)
        if self._json2:
            ids = self._call(model, "create", lambda: self._model(model).create(vals_list=values, context=CREATE_CONTEXT))
        else:
            ids = self._call(model, "create", lambda: self._model(model).create(values, context=CREATE_CONTEXT))
        return [ids] if isinstance(ids, int) else list(ids)

    def write(self, model: str, ids: list[int], values: dict) -> None:
        if self._json2:
            self._call(model, "write", lambda: self._model(model).write(ids=list(ids), vals=values))
        else:
            self._call(model, "write", lambda: self._model(model).write(list(ids), values))

    def call(self, model: str, method: str, ids: list[int]) -> Any:
        """A method on records: action_post, execute, action_archive, ..."""
        if self._json2:
            return self._call(model, method, lambda: getattr(self._model(model), method)(ids=list(ids)))
        return self._call(model, method, lambda: getattr(self._model(model), method)(list(ids)))

    # --- plumbing ------------------------------------------------------------------

    @property
    def _json2(self) -> bool:
        return self.settings.protocol == "json2"

    def _model(self, name: str):
        if name not in self._models:
            self._models[name] = self._connection.get_model(name)
        return self._models[name]

    def _uid(self) -> int:
        self._connection.check_login(force=False)
        return self._connection.user_id

    def _not_json(self, status: int, text: str):
        """Odoo's JSON-2 answers a database it does not serve (missing, or hidden by its
        --db-filter) with an HTML 404 page "No database is selected"; anything else that
        is not JSON comes from in front of Odoo (a proxy, a maintenance page)."""
        page = text.split(": ", 1)[1] if ": " in text else text
        if status == 404 and "database" in page.lower():
            return OdooDatabaseNotFound(self.settings.url, self.settings.database)
        return OdooBadAnswer(self.settings.url, status, _page_title(page))

    @contextmanager
    def _transport(self) -> Iterator[None]:
        saved = odoolib.json2.httpx, odoolib.tools.httpx
        odoolib.json2.httpx = odoolib.tools.httpx = self._shim
        try:
            yield
        finally:
            odoolib.json2.httpx, odoolib.tools.httpx = saved

    def _call(self, model: str, method: str, send):
        attempts = 1 + self.settings.retries
        failure: httpx.TransportError | None = None
        for attempt in range(1, attempts + 1):
            try:
                with self._transport():
                    return send()
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                failure = exc
            except (httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                if method not in READ_METHODS:
                    what = (f"no answer to {model}.{method} within {self.settings.timeout:g} s"
                            if isinstance(exc, httpx.ReadTimeout) else f"the connection dropped during {model}.{method}")
                    raise OdooUnreachable(self.settings.url, f"{what} (Odoo may have done it)", maybe_done=True) from None
                failure = exc
            except httpx.HTTPError as exc:
                raise OdooUnreachable(self.settings.url, str(exc) or exc.__class__.__name__) from None
            except odoolib.tools.AuthenticationError:
                raise OdooAuthenticationFailed(self.settings.url, self.settings.database, self.settings.protocol) from None
            except odoolib.tools.JsonRPCException as exc:
                raise refusal(_jsonrpc_error(exc), model, method, self.settings) from None
            except ValueError as exc:
                status, error = _json2_error(str(exc))
                if error is None:
                    raise self._not_json(status, str(exc)) from None
                raise refusal(error, model, method, self.settings) from None
            if attempt < attempts:
                time.sleep(min(0.25 * 2 ** (attempt - 1), 2.0))
        raise OdooUnreachable(self.settings.url, f"{failure.__class__.__name__}: {str(failure) or 'connection failed'} "
                              f"(tried {attempts} times)")


def _options(**values) -> dict:
    return {key: value for key, value in values.items() if value is not None}


def _jsonrpc_error(exc) -> dict:
    error = exc.error if isinstance(exc.error, dict) else {}
    data = error.get("data") or {}
    return {"name": data.get("name") or "", "message": data.get("message") or error.get("message") or str(exc)}


def _json2_error(text: str) -> tuple[int, dict | None]:
    """odoolib wraps a JSON-2 error body in a ValueError's text ("Invalid request: BODY
    for data ..." for a 422, "Unexpected status code N: BODY" otherwise): the status and
    the body back out, or None for a body that is not Odoo's JSON (an HTML page)."""
    status, rest = 422, text
    if text.startswith("Invalid request: "):
        rest = text[len("Invalid request: "):]
    elif text.startswith("Unexpected status code "):
        code, _, rest = text[len("Unexpected status code "):].partition(": ")
        status = int(code) if code.isdigit() else 0
    else:
        return 0, {"name": "", "message": text[:500]}
    try:
        body, _ = json.JSONDecoder().raw_decode(rest)
    except ValueError:
        return status, None
    if not isinstance(body, dict):
        return status, None
    return status, {"name": body.get("name") or "", "message": body.get("message") or rest[:500]}


def _page_title(html: str) -> str:
    """What an HTML error page says, in one short line: its <title> or first <h1>."""
    for tag in ("title", "h1"):
        match = re.search(rf"<{tag}[^>]*>(.*?)</{tag}>", html, re.IGNORECASE | re.DOTALL)
        if match:
            return " ".join(re.sub(r"<[^>]+>", "", match.group(1)).split())[:120]
    return ""
