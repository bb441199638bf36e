"""A test double of an Odoo 19 server's JSON-2 and JSON-RPC endpoints, on 127.0.0.1.

Built to the request/response pairs recorded from a real Odoo 19.0 Community server
in `../shared/fixtures/odoo/` (see its README): the same paths and payload shapes,
the same error bodies and HTTP statuses, and the behaviours the README lists —

- many2one values as `[id, "display name"]`, empty values as `false`;
- JSON-RPC `create(dict)` returns an int, JSON-2 `create(vals_list)` a list;
  `write` returns true and `action_post` false;
- JSON-RPC errors: HTTP 200, `{"error": {"code": 0, "message": "Odoo Server Error",
  "data": {name, message, arguments, context, debug}}}`; JSON-2 errors: the bare
  body with 401 (bad API key), 403 (AccessError), 404 (unknown model), 422
  (UserError), 500 (ValueError);
- analytic accounting off until `res.config.settings` turns `group_analytic_accounting`
  on: until then even admin gets AccessError on the analytic models;
- unbalanced moves refused at `create` ("The entry is not balanced."), using up ids;
- posting names a move `MISC/YYYY/MM/NNNN` and writes `account.analytic.line` rows
  with one `x_plan<ID>_id` column per root plan other than "Project" (whose column is
  `account_id`), amounts signed income minus cost;
- the reversal wizard replaces the reversal's `ref` with "Reversal of: NAME, reason";
- records with `active` are left out of searches unless the domain names `active`;
- the company (currency, lock dates): the computed `user_*_lock_date` read "1-01-01"
  where there is no lock, and posting an entry dated on or before the lock date books
  it on Odoo's next open day (the last day of that month, or today in the current one);
- `create` of a list is one transaction: a refused record leaves none of the list
  (their ids are used up all the same);
- a JSON-2 request for a database the server does not serve gets Odoo's HTML 404 page;
  JSON-RPC answers psycopg2's OperationalError.

`OdooState.drop_after` makes the server carry out a call and then drop the
connection without answering (what a killed server or a broken network does);
`OdooState.after_call(model, method)` runs once a call is done, before the answer
(a test kills its client there).

Behaviour not in the recordings is marked "not recorded" where it is guessed.
"""
from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PROJECT_PLAN = 1
# What Odoo 19 answers on /json/2/ for a database it does not serve (recorded).
NO_DATABASE_PAGE = ("<!DOCTYPE html>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>No database is selected "
                    "and the requested URL was not found in the server-wide controllers.</p>\n<p>Please verify the "
                    "hostname, <a href=/web/login>login</a> and try again.</p>\n\n<!-- Alternatively, use the "
                    "X-Odoo-Database header. -->\n")
ANALYTIC_MODELS = {
    "account.analytic.plan": "Analytic Plans",
    "account.analytic.account": "Analytic Accounts",
    "account.analytic.line": "Analytic Lines",
}


class OdooException(Exception):
    """An Odoo exception as the server reports it: a dotted name and a message."""

    status = 500

    def __init__(self, name: str, message: str, status: int, arguments: list | None = None, debug: str | None = None):
        super().__init__(message)
        self.name = name
        self.message = message
        self.status = status
        self.arguments = arguments if arguments is not None else [message]
        self.debug = debug or f"{name}: {message}"

    def body(self) -> dict:
        return {"name": self.name, "message": self.message, "arguments": self.arguments, "context": {}, "debug": self.debug}


def user_error(message: str) -> OdooException:
    return OdooException("odoo.exceptions.UserError", message, 422)


def value_error(message: str) -> OdooException:
    return OdooException("builtins.ValueError", message, 500, debug=f"ValueError: {message}")


def access_error(model: str) -> OdooException:
    label = ANALYTIC_MODELS[model]
    message = (f"You are not allowed to access '{label}' ({model}) records.\n\nThis operation is allowed for the "
               "following groups:\n\t- Analytic Accounting\n\t- Show Full Accounting Features\n\nContact your "
               "administrator to request access if necessary.")
    return OdooException("odoo.exceptions.AccessError", message, 403)


def money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# Fields per model: name -> related model for many2one, "x" for a plain value.
FIELDS: dict[str, dict[str, str]] = {
    "res.users": {"name": "x", "login": "x"},
    "res.country": {"name": "x", "code": "x"},
    "res.currency": {"name": "x", "active": "x"},
    "res.company": {"name": "x", "currency_id": "res.currency", "fiscalyear_lock_date": "x", "hard_lock_date": "x",
                    "sale_lock_date": "x", "purchase_lock_date": "x", "tax_lock_date": "x",
                    **{f"user_{lock}": "lock" for lock in ("fiscalyear_lock_date", "hard_lock_date", "sale_lock_date",
                                                           "purchase_lock_date", "tax_lock_date")}},
    "res.partner": dict.fromkeys(("name", "ref", "email", "phone", "street", "street2", "zip", "city", "vat", "is_company", "active", "comment"), "x") | {"country_id": "res.country"},
    "res.config.settings": {"group_analytic_accounting": "x"},
    "account.analytic.plan": {"name": "x", "parent_id": "account.analytic.plan", "root_id": "account.analytic.plan"},
    "account.analytic.account": {"name": "x", "code": "x", "plan_id": "account.analytic.plan",
                                 "root_plan_id": "account.analytic.plan", "balance": "x", "partner_id": "res.partner",
                                 "active": "x"},
    "account.journal": {"name": "x", "code": "x", "type": "x", "default_account_id": "account.account",
                        "currency_id": "res.currency", "company_id": "res.company"},
    "account.account": {"code": "x", "name": "x", "account_type": "x", "reconcile": "x"},
    "account.move": {"name": "x", "state": "x", "date": "x", "ref": "x", "move_type": "x", "journal_id": "account.journal",
                     "partner_id": "res.partner", "amount_total": "x", "currency_id": "res.currency",
                     "reversed_entry_id": "account.move", "payment_state": "x", "line_ids": "lines", "narration": "x"},
    "account.move.line": {"move_id": "account.move", "account_id": "account.account", "partner_id": "res.partner",
                          "name": "x", "debit": "x", "credit": "x", "balance": "x", "analytic_distribution": "x",
                          "date": "x"},
    "account.analytic.line": {"name": "x", "date": "x", "amount": "x", "account_id": "account.analytic.account",
                              "general_account_id": "account.account", "move_line_id": "account.move.line",
                              "partner_id": "res.partner", "ref": "x"},
    "account.move.reversal": {"move_ids": "x", "date": "x", "reason": "x", "journal_id": "account.journal"},
}
DEFAULT_ORDER = {"account.move": "id desc", "account.analytic.line": "id desc", "account.move.line": "move_id desc, id"}
# What odoolib reads from /doc-bearer: parameter names, and "model" in api for model methods.
METHOD_DOC = {
    "search": (("domain", "offset", "limit", "order"), ["model"]),
    "search_read": (("domain", "fields", "offset", "limit", "order"), ["model"]),
    "search_count": (("domain", "limit"), ["model"]),
    "create": (("vals_list",), ["model"]),
    "read": (("fields", "load"), []),
    "write": (("vals",), []),
    "unlink": ((), []),
    "action_post": ((), []),
    "action_archive": ((), []),
    "action_unarchive": ((), []),
    "execute": ((), []),
    "refund_moves": ((), []),
    "context_get": ((), ["model"]),
}


class OdooState:
    """The data of one Odoo database, in memory."""

    def __init__(self, *, database: str = "anbi_test", login: str = "admin", api_key: str = "secret",
                 analytic: bool = False, accounts: Sequence[tuple] = (), today: dt.date | None = None,
                 currency: str = "USD", users: Sequence[tuple[int, str, str]] = ()):
        """`accounts`: (code, name, type) or (id, code, name, type) beside the three the
        recorded database had; `currency`: the company's (the recorded one: USD);
        `users`: (uid, login, API key) of users with the right Accounting: Invoicing
        only — no Contact: Creation (the admin, uid 2, has every right)."""
        self.database = database
        self.users = {2: (login, api_key)} | {uid: (user_login, key) for uid, user_login, key in users}
        self.currency = currency
        self.drop_after: set[tuple[str, str]] = set()
        self.after_call: Callable[[str, str], None] | None = None
        self.login = login
        self.api_key = api_key
        self.analytic = analytic
        self.today = today or dt.date.today()  # noqa: DTZ011  (the double plays Odoo, whose today is its server's)
        self.lock = threading.RLock()
        self.records: dict[str, dict[int, dict]] = {model: {} for model in FIELDS}
        self.next_id: dict[str, int] = dict.fromkeys(FIELDS, 1)
        self.sequences: dict[tuple[int, int, int], int] = {}
        self.calls: list[tuple[str, str]] = []   # (model, method) of every call, for assertions
        self._seed(accounts)
        for uid, user_login, _ in users:   # a user is a partner too: it takes the next partner id
            self._put("res.users", uid, {"name": user_login, "login": user_login})
            self._put("res.partner", self._new_id("res.partner"), {"name": user_login, "active": True, "is_company": False})

    # --- seed data, as the recorded database had it --------------------------------

    def _put(self, model: str, record_id: int, values: dict) -> None:
        self.records[model][record_id] = {"id": record_id, **values}
        self.next_id[model] = max(self.next_id[model], record_id + 1)

    def _seed(self, accounts) -> None:
        self._put("res.users", 2, {"name": "Administrator", "login": self.login})
        self._put("res.currency", 1, {"name": "USD", "active": True})
        self._put("res.currency", 125, {"name": "EUR", "active": self.currency == "EUR"})
        self.next_id["res.currency"] = 200
        self._put("res.company", 1, {"name": "My Company", "currency_id": 1 if self.currency == "USD" else 125})
        self._put("res.country", 20, {"name": "Belgium", "code": "BE"})
        self._put("res.country", 57, {"name": "Germany", "code": "DE"})
        self._put("res.country", 165, {"name": "Netherlands", "code": "NL"})
        self.next_id["res.country"] = 250
        self._put("res.partner", 1, {"name": "My Company", "active": True, "is_company": True})
        self._put("res.partner", 3, {"name": "Administrator", "active": True, "is_company": False})
        self.next_id["res.partner"] = 6
        self._put("account.analytic.plan", PROJECT_PLAN, {"name": "Project", "parent_id": None, "root_id": PROJECT_PLAN})
        self._put("account.account", 26, {"code": "400000", "name": "Product Sales", "account_type": "income", "reconcile": False})
        self._put("account.account", 29, {"code": "443000", "name": "Cash Discount Loss", "account_type": "expense", "reconcile": False})
        self._put("account.account", 44, {"code": "101401", "name": "Bank", "account_type": "asset_cash", "reconcile": False})
        self.next_id["account.account"] = 60
        for account in accounts:
            record_id, (code, name, account_type) = (account[0], account[1:]) if len(account) == 4 else (None, account)
            if not any(a["code"] == code for a in self.records["account.account"].values()):
                self._put("account.account", record_id or self.next_id["account.account"],
                          {"code": code, "name": name, "account_type": account_type, "reconcile": False})
        self._put("account.journal", 3, {"name": "Miscellaneous Operations", "code": "MISC", "type": "general",
                                         "default_account_id": None, "currency_id": None, "company_id": 1})
        self._put("account.journal", 6, {"name": "Bank", "code": "BNK1", "type": "bank", "default_account_id": 44,
                                         "currency_id": None, "company_id": 1})
        self.next_id["account.journal"] = 10

    # --- generic ORM ------------------------------------------------------------------

    def check_model(self, model: str, json2: bool) -> None:
        if model not in FIELDS:
            if json2:
                message = f"the model '{model}' does not exist"
                raise OdooException("werkzeug.exceptions.NotFound", message, 404, [message, 404],
                                    f"werkzeug.exceptions.NotFound: 404 Not Found: {message}")
            raise user_error(f"Object {model} doesn't exist")
        if model in ANALYTIC_MODELS and not self.analytic:
            raise access_error(model)

    def fields(self, model: str) -> dict[str, str]:
        known = dict(FIELDS[model])
        if model == "account.analytic.line":
            for plan in self.records["account.analytic.plan"].values():
                if plan["parent_id"] is None and plan["id"] != PROJECT_PLAN:
                    known[f"x_plan{plan['id']}_id"] = "account.analytic.account"
        return known

    def display(self, model: str, record_id: int) -> str:
        r = self.records[model][record_id]
        if model == "account.account":
            return f"{r['code']} {r['name']}"
        if model == "account.analytic.account":
            return f"[{r['code']}] {r['name']}" if r.get("code") else r["name"]
        if model == "account.move":
            return f"{r['name']} ({r['ref']})" if r.get("ref") else r["name"]
        if model == "account.move.line":
            return f"{self.display('account.move', r['move_id'])} {r['name']}"
        return r.get("name") or ""

    def value(self, model: str, record: dict, field: str) -> Any:
        kind = self.fields(model).get(field)
        raw = record.get(field)
        if kind is None and field != "id":
            raise value_error(f"Invalid field '{field}' on model '{model}'")  # not recorded: Odoo's read of an unknown field
        if field == "id":
            return record["id"]
        if kind == "lock":   # Odoo's computed user_*_lock_date: date.min, printed so, when there is none
            return record.get(field[len("user_"):]) or "1-01-01"
        if kind == "lines":
            return sorted(i for i, line in self.records["account.move.line"].items() if line["move_id"] == record["id"])
        if kind not in ("x",) and kind is not None:
            return [raw, self.display(kind, raw)] if raw else False
        if isinstance(raw, Decimal):
            return float(raw)
        if raw is None or raw == "":
            return False
        return raw

    def matches(self, model: str, record: dict, domain: list) -> bool:
        stack: list[bool] = []
        for term in reversed(domain or []):
            if term == "&":
                stack.append(stack.pop() and stack.pop())
            elif term == "|":
                stack.append(stack.pop() or stack.pop())
            elif term == "!":
                stack.append(not stack.pop())
            else:
                stack.append(self._condition(model, record, term))
        return all(stack)

    def _condition(self, model: str, record: dict, term) -> bool:
        field, op, wanted = term
        known = self.fields(model)
        if field not in known and field != "id":
            raise value_error(f"Invalid field {model}.{field} in condition {tuple(term)!r}")
        have = record.get(field)
        if isinstance(have, Decimal):
            have = float(have)
        if isinstance(wanted, list) and op in ("=", "!=") and len(wanted) == 2 and isinstance(wanted[0], int):
            wanted = wanted[0]
        if op == "=":
            if wanted is False:
                return have in (None, False, "")
            return have == wanted
        if op == "!=":
            return have != wanted
        if op == "in":
            return have in wanted
        if op == "not in":
            return have not in wanted
        if op in ("<", "<=", ">", ">="):
            if have is None:
                return False
            return {"<": have < wanted, "<=": have <= wanted, ">": have > wanted, ">=": have >= wanted}[op]
        if op in ("ilike", "like"):
            return have is not None and str(wanted).lower() in str(have).lower()
        raise value_error(f"Invalid operator {op!r} in condition {tuple(term)!r}")

    def search(self, model: str, domain=None, offset=0, limit=None, order=None, **_) -> list[int]:
        domain = list(domain or [])
        if "active" in self.fields(model) and not any(isinstance(t, list) and t[0] == "active" for t in domain):
            domain = ["&", ["active", "=", True], *domain] if domain else [["active", "=", True]]
        ids = [rid for rid, record in self.records[model].items() if self.matches(model, record, domain)]
        for part in reversed((order or DEFAULT_ORDER.get(model, "id")).split(",")):
            sort_field, _space, direction = part.strip().partition(" ")
            ids.sort(key=lambda i: (self.records[model][i].get(sort_field) is None, self.records[model][i].get(sort_field) or 0),
                     reverse=direction.lower() == "desc")
        ids = ids[offset or 0:]
        return ids[:limit] if limit else ids

    def read(self, model: str, ids, fields=None, **_) -> list[dict]:
        ids = [ids] if isinstance(ids, int) else list(ids)
        fields = list(fields or self.fields(model))
        rows = []
        for rid in ids:
            record = self.records[model].get(rid)
            if record is None:
                raise OdooException("odoo.exceptions.MissingError", f"Record does not exist or has been deleted.\n(Record: {model}({rid},), User: 2)", 404)
            rows.append({"id": rid, **{f: self.value(model, record, f) for f in fields if f != "id"}})
        return rows

    def search_read(self, model: str, domain=None, fields=None, offset=0, limit=None, order=None, **_) -> list[dict]:
        return self.read(model, self.search(model, domain, offset, limit, order), fields)

    def create(self, model: str, vals_list) -> list[int]:
        """One transaction: if a record is refused, none of the list is kept."""
        before = {name: set(rows) for name, rows in self.records.items()}
        ids = []
        try:
            for vals in ([vals_list] if isinstance(vals_list, dict) else vals_list):
                ids.append(self._create_one(model, dict(vals)))
        except OdooException:
            for name, rows in self.records.items():
                for rid in set(rows) - before[name]:
                    del rows[rid]
            raise
        return ids

    def _check_values(self, model: str, vals: dict) -> None:
        known = self.fields(model)
        for key in vals:
            if key not in known:
                raise value_error(f"Invalid field '{key}' in '{model}'")  # not recorded

    def _new_id(self, model: str) -> int:
        rid = self.next_id[model]
        self.next_id[model] += 1
        return rid

    def _create_one(self, model: str, vals: dict) -> int:
        self._check_values(model, vals)
        if model == "account.move":
            return self._create_move(vals)
        rid = self._new_id(model)
        defaults: dict[str, Any] = {}
        if "active" in FIELDS[model]:
            defaults["active"] = True
        if model == "account.analytic.plan":
            defaults.update(parent_id=None)
            vals.setdefault("root_id", None)
        if model == "account.analytic.account":
            if not vals.get("plan_id") or vals["plan_id"] not in self.records["account.analytic.plan"]:
                raise user_error("An analytic account needs a plan.")  # not recorded
            defaults.update(balance=Decimal("0.00"), partner_id=None, root_plan_id=vals["plan_id"])
        if model == "res.partner" and not vals.get("name"):
            raise OdooException("odoo.exceptions.ValidationError", "Contacts require a name", 422)  # not recorded
        record = {"id": rid, **defaults, **vals}
        if model == "account.analytic.plan" and record.get("root_id") is None:
            record["root_id"] = rid
        if model == "res.config.settings":
            record.setdefault("group_analytic_accounting", False)
        self.records[model][rid] = record
        return rid

    def _create_move(self, vals: dict) -> int:
        lines = vals.pop("line_ids", [])
        move_id = self._new_id("account.move")
        line_ids = [self._new_id("account.move.line") for _ in lines]   # used up even if refused
        debit = sum(money(cmd[2].get("debit")) for cmd in lines)
        credit = sum(money(cmd[2].get("credit")) for cmd in lines)
        if debit != credit:
            raise user_error("The entry is not balanced.")
        for cmd in lines:
            account = cmd[2].get("account_id")
            if account not in self.records["account.account"]:
                raise OdooException("odoo.exceptions.MissingError",  # not recorded
                                    f"Record does not exist or has been deleted.\n(Record: account.account({account},), User: 2)", 422)
        date = vals.get("date") or self.today.isoformat()
        self.records["account.move"][move_id] = {
            "id": move_id, "name": "/", "state": "draft", "date": date, "ref": vals.get("ref"),
            "move_type": vals.get("move_type", "entry"), "journal_id": vals.get("journal_id", 3),
            "partner_id": vals.get("partner_id"), "amount_total": debit, "currency_id": 1, "reversed_entry_id": None,
            "payment_state": "not_paid", "narration": vals.get("narration"),
        }
        for line_id, cmd in zip(line_ids, lines):
            values = dict(cmd[2])
            self._check_values("account.move.line", values)
            d, c = money(values.get("debit")), money(values.get("credit"))
            self.records["account.move.line"][line_id] = {
                "id": line_id, "move_id": move_id, "account_id": values["account_id"],
                "partner_id": values.get("partner_id", vals.get("partner_id")), "name": values.get("name") or "",
                "debit": d, "credit": c, "balance": d - c, "analytic_distribution": values.get("analytic_distribution"),
                "date": date,
            }
        return move_id

    def write(self, model: str, ids, vals: dict) -> bool:
        self._check_values(model, vals)
        for rid in ([ids] if isinstance(ids, int) else ids):
            record = self.records[model].get(rid)
            if record is None:
                raise OdooException("odoo.exceptions.MissingError", f"Record does not exist or has been deleted.\n(Record: {model}({rid},), User: 2)", 404)
            if model == "account.move" and record["state"] == "posted" and set(vals) - {"ref", "narration"}:
                raise user_error("You cannot modify a posted entry of this journal.")  # not recorded
            record.update(vals)
        return True

    # --- methods on records -----------------------------------------------------------

    def method(self, model: str, method: str, ids) -> Any:
        ids = [ids] if isinstance(ids, int) else list(ids)
        if method == "context_get":
            return {"lang": "en_US", "tz": False, "uid": 2}
        if model == "res.config.settings" and method == "execute":
            for rid in ids:
                if self.records[model][rid].get("group_analytic_accounting"):
                    self.analytic = True
            return {"type": "ir.actions.client", "tag": "reload"}
        if model == "account.move" and method == "action_post":
            for rid in ids:
                self._post(rid)
            return False
        if model == "account.move.reversal" and method == "refund_moves":
            return self._reverse(ids[0])
        if method in ("action_archive", "action_unarchive") and "active" in FIELDS[model]:
            for rid in ids:
                self.records[model][rid]["active"] = method == "action_unarchive"
            return True
        raise OdooException("builtins.AttributeError", f"The method '{method}' does not exist on the model '{model}'", 404)  # not recorded

    def _post(self, move_id: int) -> None:
        move = self.records["account.move"][move_id]
        if move["state"] == "posted":
            raise user_error("The entry is already posted.")  # not recorded
        day = dt.date.fromisoformat(move["date"])
        journal = self.records["account.journal"][move["journal_id"]]
        lock = self.lock_date(journal)
        if lock is not None and day <= lock:
            day = self.next_open_day(lock)
            move["date"] = day.isoformat()
            for line in self.records["account.move.line"].values():
                if line["move_id"] == move_id:
                    line["date"] = move["date"]
        key = (move["journal_id"], day.year, day.month)
        self.sequences[key] = self.sequences.get(key, 0) + 1
        move["name"] = f"{journal['code']}/{day.year}/{day.month:02d}/{self.sequences[key]:04d}"
        move["state"] = "posted"
        for line in sorted((x for x in self.records["account.move.line"].values() if x["move_id"] == move_id), key=lambda x: x["id"]):
            for key, share in (line["analytic_distribution"] or {}).items():
                amount = ((line["credit"] - line["debit"]) * Decimal(str(share)) / 100).quantize(Decimal("0.01"))
                row = {"name": line["name"], "date": move["date"], "amount": amount, "account_id": None,
                       "general_account_id": line["account_id"], "move_line_id": line["id"],
                       "partner_id": line["partner_id"], "ref": move["ref"]}
                for account_id in str(key).split(","):
                    account = self.records["account.analytic.account"][int(account_id)]
                    column = "account_id" if account["root_plan_id"] == PROJECT_PLAN else f"x_plan{account['root_plan_id']}_id"
                    row[column] = int(account_id)
                rid = self._new_id("account.analytic.line")
                self.records["account.analytic.line"][rid] = {"id": rid, **row}

    def lock_date(self, journal: dict) -> dt.date | None:
        """The lock date an entry of this journal without taxes meets (Odoo's
        res.company._get_violated_lock_dates: the global and the hard lock, and the
        sales or purchase lock for those journals)."""
        company = self.records["res.company"][journal.get("company_id") or 1]
        names = ["fiscalyear_lock_date", "hard_lock_date"]
        names += {"sale": ["sale_lock_date"], "purchase": ["purchase_lock_date"]}.get(journal["type"], [])
        days = [dt.date.fromisoformat(company[name]) for name in names if company.get(name)]
        return max(days) if days else None

    def next_open_day(self, lock: dt.date) -> dt.date:
        """Where Odoo books a locked entry of a journal numbered per month
        (account.move._get_accounting_date): the day after the lock; in a month before
        today's, that month's last day, else not before today."""
        day = lock + dt.timedelta(days=1)
        if (self.today.year, self.today.month) > (day.year, day.month):
            following = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
            return following - dt.timedelta(days=1)
        return max(day, self.today)

    def _reverse(self, wizard_id: int) -> dict:
        wizard = self.records["account.move.reversal"][wizard_id]
        (_, _, originals), = wizard["move_ids"]
        original = self.records["account.move"][originals[0]]
        lines = [x for x in self.records["account.move.line"].values() if x["move_id"] == original["id"]]
        new = self._create_move({
            "journal_id": wizard.get("journal_id") or original["journal_id"], "date": wizard.get("date"),
            "ref": f"Reversal of: {original['name']}, {wizard.get('reason')}", "partner_id": original["partner_id"],
            "line_ids": [[0, 0, {"account_id": x["account_id"], "name": x["name"], "debit": float(x["credit"]),
                                 "credit": float(x["debit"]), "partner_id": x["partner_id"],
                                 "analytic_distribution": x["analytic_distribution"]}] for x in sorted(lines, key=lambda x: x["id"])],
        })
        self.records["account.move"][new]["reversed_entry_id"] = original["id"]
        self._post(new)
        return {"name": "Reverse Moves", "type": "ir.actions.act_window", "res_model": "account.move",
                "view_mode": "form", "res_id": new, "context": {"default_move_type": "entry"}}

    # --- dispatch -----------------------------------------------------------------------

    def uid_of(self, api_key: str) -> int | None:
        return next((uid for uid, (_, key) in self.users.items() if key == api_key), None)

    def check_rights(self, uid: int, model: str, method: str) -> None:
        """A user without Contact: Creation may read partners, not make or change them."""
        if uid != 2 and model == "res.partner" and method in ("create", "write"):
            verb = "create" if method == "create" else "modify"
            raise OdooException("odoo.exceptions.AccessError",
                                f"You are not allowed to {verb} 'Contact' (res.partner) records.\n\nThis operation is "
                                "allowed for the following groups:\n\t- Contact/Creation\n\nContact your administrator "
                                "to request access if necessary.", 403)

    def call(self, model: str, method: str, params: dict, *, json2: bool, uid: int = 2) -> Any:
        with self.lock:
            self.calls.append((model, method))
            self.check_model(model, json2)
            self.check_rights(uid, model, method)
            if method == "search":
                return self.search(model, **params)
            if method == "search_read":
                return self.search_read(model, **params)
            if method == "search_count":
                return len(self.search(model, params.get("domain")))
            if method == "read":
                return self.read(model, params["ids"], params.get("fields"))
            if method == "create":
                vals = params["vals_list"]
                created = self.create(model, vals)
                return created[0] if isinstance(vals, dict) and not json2 else created
            if method == "write":
                return self.write(model, params["ids"], params["vals"])
            return self.method(model, method, params.get("ids", []))


# Positional arguments of execute_kw, per method (JSON-RPC).
POSITIONAL = {
    "search": ("domain", "offset", "limit", "order"),
    "search_read": ("domain", "fields", "offset", "limit", "order"),
    "search_count": ("domain",),
    "read": ("ids", "fields"),
    "create": ("vals_list",),
    "write": ("ids", "vals"),
}


class OdooDouble:
    """Runs an OdooState behind a real HTTP server on 127.0.0.1 (a free port)."""

    def __init__(self, state: OdooState):
        self.state = state
        handler = _handler(state)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> OdooDouble:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(state: OdooState) -> Callable:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as two writes

        def log_message(self, *args) -> None:  # quiet in tests
            pass

        def _send(self, status: int, body: Any, headers: dict | None = None) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True   # the client is gone (a test killed it)

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            return json.loads(raw) if raw else {}

        def _uid(self) -> int | None:
            bearer = self.headers.get("Authorization") or ""
            return state.uid_of(bearer[len("Bearer "):]) if bearer.startswith("Bearer ") else None

        def _authorised(self) -> bool:
            return self._uid() is not None

        def _other_database(self) -> bool:
            """JSON-2 names its database in a header; Odoo answers another with an HTML page."""
            if self.headers.get("X-Odoo-Database", state.database) == state.database:
                return False
            data = NO_DATABASE_PAGE.encode()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return True

        def do_GET(self) -> None:
            if self.path == "/web/version":
                self._send(200, {"version_info": [19, 0, 0, "final", 0, ""], "version": "19.0"},
                           {"Set-Cookie": "session_id=x; Max-Age=604800; HttpOnly; Path=/"})
            elif self.path.startswith("/doc-bearer/") and self.path.endswith(".json"):
                if not self._authorised():
                    self._unauthorised()
                    return
                model = self.path[len("/doc-bearer/"):-len(".json")]
                methods = {name: {"parameters": {p: {} for p in params}, "api": api}
                           for name, (params, api) in METHOD_DOC.items()}
                self._send(200, {"model": model, "name": model, "methods": methods})
            else:
                self._send(404, {"error": "not found"})

        def _unauthorised(self) -> None:
            self._send(401, {"name": "werkzeug.exceptions.Unauthorized", "message": "Invalid apikey",
                             "arguments": ["Invalid apikey", 401], "context": {},
                             "debug": "werkzeug.exceptions.Unauthorized: 401 Unauthorized: Invalid apikey"},
                       {"WWW-Authenticate": "Bearer "})

        def do_POST(self) -> None:
            body = self._body()
            if self.path.startswith("/json/2/"):
                if self._other_database():
                    return
                if not self._authorised():
                    self._unauthorised()
                    return
                model, _, method = self.path[len("/json/2/"):].rpartition("/")
                try:
                    uid = self._uid()
                    assert uid is not None  # _authorised() above
                    result = state.call(model, method, body, json2=True, uid=uid)
                except OdooException as exc:
                    self._send(exc.status, exc.body())
                    return
                if self._dropped(model, method):
                    return
                self._send(200, result)
            elif self.path == "/jsonrpc":
                self._jsonrpc(body)
            else:
                self._send(404, {"error": "not found"})

        def _dropped(self, model: str, method: str) -> bool:
            """Done, and no answer: the connection closes as a killed server's does."""
            if state.after_call is not None:
                state.after_call(model, method)
            if (model, method) not in state.drop_after:
                return False
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return True

        def _jsonrpc(self, body: dict) -> None:
            params = body.get("params", {})
            service, method, args = params.get("service"), params.get("method"), list(params.get("args", []))
            try:
                result = self._rpc(service, method, args)
                if service == "object" and self._dropped(*args[3:5]):
                    return
                self._send(200, {"jsonrpc": "2.0", "id": body.get("id"), "result": result})
            except OdooException as exc:
                self._send(200, {"jsonrpc": "2.0", "id": body.get("id"), "error": {
                    "code": 0, "message": "Odoo Server Error", "data": exc.body()}})

        def _rpc(self, service: str, method: str, args: list) -> Any:
            if service == "common" and method == "version":
                return {"server_version": "19.0", "server_version_info": [19, 0, 0, "final", 0, ""],
                        "server_serie": "19.0", "protocol_version": 1}
            if service in ("common", "object") and args and args[0] != state.database:
                message = (f'connection to server at "127.0.0.1", port 5432 failed: FATAL:  database "{args[0]}" '
                           "does not exist\n")
                raise OdooException("psycopg2.OperationalError", message, 200, debug=f"psycopg2.OperationalError: {message}")
            if service == "common" and method in ("login", "authenticate"):
                _db, login, password = args[:3]
                return next((uid for uid, user in state.users.items() if user == (login, password)), False)
            if service == "object" and method == "execute_kw":
                _db, uid, password, model, name, positional = args[:6]
                keywords = dict(args[6]) if len(args) > 6 and args[6] else {}
                if state.users.get(uid, (None, None))[1] != password:
                    raise OdooException("odoo.exceptions.AccessDenied", "Access Denied", 200,
                                        debug="odoo.exceptions.AccessDenied: Access Denied\n")
                keywords.pop("context", None)
                names = POSITIONAL.get(name, ("ids",))
                for key, value in zip(names, positional):
                    keywords[key] = value
                return state.call(model, name, keywords, json2=False, uid=uid)
            raise OdooException("builtins.Exception", f"unknown method {service}.{method}", 200)  # not recorded

    return Handler
