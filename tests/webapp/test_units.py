"""The web application's plain functions, without a database: throttling, the web
settings decision, the signed cookie, redirect targets, search interpretation,
charts, and the Dutch catalogue covering every text of the templates."""
from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path

import pytest

from anbi.core.errors import ConfigurationError
from anbi.web import charts
from anbi.web.i18n import DUTCH, LABELS, label, translate
from anbi.web.search import interpret
from anbi.web.identity.security import CookieCodec, CookieState, csrf_matches, web_config
from anbi.web.ui.common import safe_next
from anbi.web.identity.users import Throttled, check_password_strength, throttle_wait, WeakPassword

T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
WINDOW = dt.timedelta(minutes=15)


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


# --- throttling -----------------------------------------------------------------

@pytest.mark.parametrize("failure_minutes_ago, expected_wait", [
    ([], None),
    ([1, 2, 3, 4], None),                      # four failures: a fifth try is allowed
    ([1, 2, 3, 4, 5], minutes(10)),            # oldest of the five left 5 min ago: 15 - 5 = 10 to wait
    ([0, 0, 0, 0, 14], minutes(1)),            # the oldest leaves the window in one minute
    ([1, 2, 3, 4, 16], None),                  # one is older than the window: only four count
    ([1, 2, 3, 4, 5, 6, 7], minutes(10)),      # more than five: the fifth newest decides
])
def test_throttle_wait_counts_failures_inside_the_window(failure_minutes_ago, expected_wait):
    failures = [T0 - minutes(m) for m in failure_minutes_ago]
    assert throttle_wait(failures, T0, limit=5, window=WINDOW) == expected_wait


def test_throttled_message_rounds_the_wait_up_to_whole_minutes():
    assert Throttled(dt.timedelta(seconds=61)).minutes == 2
    assert Throttled(dt.timedelta(seconds=60)).minutes == 1
    assert Throttled(dt.timedelta(seconds=5)).minutes == 1
    assert "try again in 90 seconds" in str(Throttled(dt.timedelta(seconds=90)))
    assert "try again in 3 minutes" in str(Throttled(dt.timedelta(seconds=150)))


def test_password_strength():
    check_password_strength("twelve chars")  # exactly 12
    with pytest.raises(WeakPassword, match="at least 12"):
        check_password_strength("eleven char")
    with pytest.raises(WeakPassword, match="e-mail"):
        check_password_strength("anna@example.org", "Anna@Example.org")


# --- web settings -----------------------------------------------------------------

def test_no_secret_key_refuses_to_serve_on_a_public_address_and_says_how():
    with pytest.raises(ConfigurationError) as error:
        web_config({}, "0.0.0.0")
    message = str(error.value)
    assert "ANBI_WEB_SECRET_KEY" in message and "[web]" in message and "secrets.token_urlsafe" in message


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", None])
def test_no_secret_key_is_allowed_locally_with_a_random_one(host):
    config = web_config({}, host)
    assert config.ephemeral_secret and len(config.secret_key) >= 32
    assert web_config({}, host).secret_key != config.secret_key  # random per process


URL = "https://crm.voorbeeld.example"


@pytest.mark.parametrize("section, host, secure", [
    ({"secret_key": "k" * 32, "base_url": URL}, "0.0.0.0", True),
    ({"secret_key": "k" * 32}, None, True),
    ({"secret_key": "k" * 32}, "127.0.0.1", False),
    ({"secret_key": "k" * 32, "secure_cookies": "false", "base_url": URL}, "0.0.0.0", False),
    ({"secret_key": "k" * 32, "secure_cookies": True}, "localhost", True),
])
def test_secure_cookies_outside_local_development(section, host, secure):
    assert web_config(section, host).secure_cookies is secure


def test_bad_web_settings_are_refused():
    with pytest.raises(ConfigurationError, match="too short"):
        web_config({"secret_key": "short"}, "0.0.0.0")
    with pytest.raises(ConfigurationError, match="secure_cookies"):
        web_config({"secret_key": "k" * 32, "secure_cookies": "maybe", "base_url": URL}, "0.0.0.0")


# --- the signed cookie -------------------------------------------------------------

def test_cookie_round_trip_and_tampering():
    codec = CookieCodec("k" * 32)
    value = codec.dumps(CookieState(session_key="abc", csrf="token", language="en"))
    state = codec.loads(value)
    assert state is not None
    assert (state.session_key, state.csrf, state.language) == ("abc", "token", "en")
    tampered = value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]
    assert codec.loads(tampered) is None
    assert CookieCodec("other" * 8).loads(value) is None  # another key: not ours
    assert codec.loads("") is None and codec.loads("garbage") is None


def test_csrf_comparison():
    assert csrf_matches("abc", "abc")
    assert not csrf_matches("abc", "abd")
    assert not csrf_matches("abc", None)
    assert not csrf_matches("", "")


@pytest.mark.parametrize("target, expected", [
    ("/donors?q=a", "/donors?q=a"),
    ("/", "/"),
    (None, "/"),
    ("", "/"),
    ("https://evil.example/", "/"),
    ("//evil.example/x", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
])
def test_redirect_targets_stay_on_this_site(target, expected):
    assert safe_next(target) == expected


# --- search ------------------------------------------------------------------------

@pytest.mark.parametrize("text, kind, extra", [
    ("", "all", {}),
    ("anna@Example.NL", "email", {"text": "anna@example.nl"}),
    ("NL91 ABNA 0417 1643 00", "iban", {"text": "NL91ABNA0417164300"}),
    ("1017gc 12", "postcode", {"postcode": "1017 GC", "house_number": "12", "suffix": None}),
    ("1017 GC, 12 a", "postcode", {"postcode": "1017 GC", "house_number": "12", "suffix": "a"}),
    ("1017 GC", "postcode", {"postcode": "1017 GC", "house_number": None}),
    ("van der Berg", "ref_or_name", {"text": "van der Berg"}),
    ("D000123", "ref_or_name", {"text": "D000123"}),
])
def test_search_text_is_understood_by_its_shape(text, kind, extra):
    query = interpret(text)
    assert query.kind == kind
    for key, value in extra.items():
        assert getattr(query, key) == value


# --- charts ------------------------------------------------------------------------

@pytest.mark.parametrize("value, top", [(0, 1), (1, 1), (3, 5), (11, 20), (21, 25), (26, 50), (101, 200),
                                        (240_000, 250_000), (250_001, 500_000)])
def test_axis_top(value, top):
    assert charts.nice_ceiling(value) == top


def test_month_chart_scales_bars_to_the_axis_and_labels_amounts_in_dutch():
    svg = str(charts.month_comparison([100_00, 50_00] + [0] * 10, [200_00] * 12, ["jan", "feb"] + ["x"] * 10,
                                      title="Inkomsten", desc="staven en lijn"))
    assert svg.startswith("<svg") and 'role="img"' in svg and "<title" in svg and "<desc" in svg
    # top of the axis: the largest amount 200,00 euro → 20000 cents → axis 20000; plot height 260-10-30 = 220
    heights = [int(h) for h in re.findall(r'class="bar current"[^>]*height="(\d+)"', svg)]
    assert heights[:2] == [110, 55]  # 10000/20000*220 and 5000/20000*220
    assert "€ 100,00" in svg and "€ 200" in svg  # tooltip and axis label
    assert "style=" not in svg  # the Content-Security-Policy forbids inline styles


def test_horizontal_bars_mark_the_reference_and_warn():
    svg = str(charts.horizontal_bars([charts.Bar("Personeel", 150_00, reference=100_00, warn=True),
                                      charts.Bar("Huur <b>", 50_00, reference=100_00)], title="t", desc="d"))
    assert svg.count('class="marker"') == 2
    assert svg.count('class="bar warn"') == 1
    assert "Huur &lt;b&gt;" in svg  # labels are escaped
    assert "€ 150,00" in svg


# --- language --------------------------------------------------------------------------

TEMPLATES = Path(__file__).resolve().parents[2] / "anbi" / "web" / "templates"
UI_CODE = Path(__file__).resolve().parents[2] / "anbi" / "web"
_LITERAL = re.compile(r"""_\(\s*(["'])(.+?)\1""")


def _template_texts() -> set[str]:
    texts = set()
    for path in TEMPLATES.rglob("*.html"):
        for _, text in _LITERAL.findall(path.read_text(encoding="utf-8")):
            texts.add(text)
        # Labels passed to macros (field("street", "Street")) are translated inside the macro.
        for match in re.finditer(r'(?:field|yesno)\("[a-z_]+", "([^"]+)"', path.read_text(encoding="utf-8")):
            texts.add(match.group(1))
    return texts


def _python_texts() -> set[str]:
    """Texts given to translate(...) or raised in page errors in the web modules."""
    texts = set()
    for path in UI_CODE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and node.args:
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                first = node.args[1] if name == "translate" and len(node.args) > 1 else node.args[0]
                if name in ("translate", "_", "Forbidden", "PageNotFound", "CsrfRefused") and isinstance(first, ast.Constant) \
                        and isinstance(first.value, str):
                    texts.add(first.value)
    return texts


def test_every_text_of_the_web_application_has_dutch():
    missing = sorted(t for t in _template_texts() | _python_texts() if t not in DUTCH)
    assert missing == []


def test_page_messages_and_link_reasons_have_dutch():
    from anbi.web.ui.common import MESSAGES
    from anbi.web.ui.pages_portal import LINK_REASONS

    assert [m for m in [*MESSAGES.values(), *LINK_REASONS.values()] if m not in DUTCH] == []


def test_translate_fills_placeholders_in_either_language():
    assert translate("nl", "Signed in as {email} ({role})", email="a@b.nl", role="viewer") == "Aangemeld als a@b.nl (viewer)"
    assert translate("en", "Signed in as {email} ({role})", email="a@b.nl", role="viewer") == "Signed in as a@b.nl (viewer)"
    assert translate("nl", "Donors") == "Donateurs"
    assert translate("nl", "a text nobody translated") == "a text nobody translated"


def test_a_count_of_one_reads_in_the_singular():
    from anbi.web.i18n import ONE

    assert translate("nl", "{count} donations", count=1) == "1 gift"
    assert translate("en", "{count} donations", count=1) == "1 donation"
    assert translate("nl", "{count} donations", count=2) == "2 giften"
    assert translate("nl", "{count} donors", count=0) == "0 donateurs"
    assert translate("en", "{count} donors", count=1) == "1 donor"
    assert [t for t in [*ONE, *ONE.values()] if t not in DUTCH] == []


def test_codes_are_labelled_in_both_languages():
    assert label("nl", "sepa_debit") == "incasso" and label("en", "sepa_debit") == "direct debit"
    assert label("nl", "unknown_code") == "unknown_code" and label("nl", None) == ""
    assert all(len(pair) == 2 and all(pair) for pair in LABELS.values())
