"""The Odoo test double answers every recorded exchange of a real Odoo 19 server as
the server did: same statuses, same bodies (ids, many2one pairs, false for empty,
error names and messages, the HTML page of a database it does not serve).

Two recordings per protocol (tests/fixtures/odoo/README.md): the first flow, made
with odoo-client-lib directly, and the sync's own calls through exports.odoo.client
(batches, the company's currency and lock dates, account types, a wrong database, a
user without the right to create contacts)."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.odoo_double import OdooDouble, OdooState

RECORDINGS = Path(__file__).parents[1] / "fixtures" / "odoo"
SECRET = "secret"
INVOICING_SECRET = "invoicing-secret"
# Each recording's database as it was when recording began (the README).
STATES: dict[str, dict[str, Any]] = {
    "odoo19_json2_exchanges.json": dict(today=dt.date(2026, 11, 28)),
    "odoo19_jsonrpc_exchanges.json": dict(today=dt.date(2026, 11, 28)),
    "odoo19_json2_sync_exchanges.json": dict(today=dt.date(2026, 12, 3), accounts=[(24, "301000", "Capital", "equity")],
                                             users=[(5, "crm-invoicing", INVOICING_SECRET)]),
    "odoo19_jsonrpc_sync_exchanges.json": dict(today=dt.date(2026, 12, 3), accounts=[(24, "301000", "Capital", "equity")],
                                               users=[(5, "crm-invoicing", INVOICING_SECRET)]),
}


def exchanges(name: str) -> list[dict]:
    return json.loads((RECORDINGS / name).read_text())


def substitute(value):
    """The recordings hide the keys; put ours back (and a wrong one for the wrong one)."""
    if isinstance(value, str):
        return (value.replace("<wrong-secret>", "wrong").replace("<invoicing-secret>", INVOICING_SECRET)
                .replace("<secret>", SECRET))
    if isinstance(value, list):
        return [substitute(v) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v) for k, v in value.items()}
    return value




@pytest.mark.parametrize("recording", sorted(STATES))
def test_the_double_answers_like_the_recorded_server(recording):
    state = OdooState(database="anbi_test", login="admin", api_key=SECRET, **STATES[recording])
    with OdooDouble(state) as double, httpx.Client(base_url=double.url) as client:
        for exchange in exchanges(recording):
            request, expected = exchange["request"], exchange["response"]
            headers = dict(substitute(request.get("headers", {})))
            if request["method"] == "GET":
                answer = client.get(request["path"], headers=headers)
            else:
                answer = client.post(request["path"], headers=headers, json=substitute(request.get("json")))
            where = f"seq {exchange['seq']} ({exchange['step']})"
            assert answer.status_code == expected["status"], where
            if "WWW-Authenticate" in expected.get("headers", {}):
                assert answer.headers.get("WWW-Authenticate", "").strip() == expected["headers"]["WWW-Authenticate"].strip(), where
            if "text" in expected:   # not JSON: Odoo's HTML page
                assert answer.headers["Content-Type"] == expected["headers"]["Content-Type"], where
                assert answer.text == expected["text"], where
                continue
            body = answer.json()
            if request["path"].startswith("/doc-bearer/"):
                assert body["model"] == expected["json"]["model"], where  # the recording is trimmed
                continue
            if request["path"] == "/jsonrpc":
                assert body["id"] == request["json"]["id"], where
                body.pop("id"), expected["json"].pop("id")
            assert _strip(body) == _strip(expected["json"]), where


def _strip(body):
    """Leave out the traceback text (`debug`), which the recordings cut to its last line."""
    if isinstance(body, dict):
        return {k: _strip(v) for k, v in body.items() if k != "debug"}
    if isinstance(body, list):
        return [_strip(v) for v in body]
    return body
