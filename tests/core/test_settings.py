"""Settings are read, typed and checked when anbi starts: a typo or a wrong value in
any section is one line naming where it is (the file or the variable), the section
and the key; the command line then stops with exit code 1 and no traceback."""
import dataclasses

import pytest

from anbi.core.errors import ConfigurationError
from anbi.core.settings import SECTIONS, Settings, load_settings

GOOD = """
database_url = "sqlite:///x.db"
[organisation]
name = "Stichting Voorbeeld"
rsin = "824150004"
address = "Postbus 1, 1000 AA Amsterdam"
"""


def test_reads_file_and_environment_overrides(tmp_path):
    path = tmp_path / "anbi.toml"
    path.write_text(GOOD)
    settings = load_settings(path, environ={"ANBI_STRIPE_API_KEY": "sk_test_1", "ANBI_PRIVACY_RETENTION_YEARS": "8"})
    assert settings.database_url == "sqlite:///x.db"
    assert settings.organisation is not None
    assert settings.organisation.rsin == "824150004"
    assert settings.stripe.api_key == "sk_test_1"
    assert settings.retention_years == 8 == settings.privacy.retention_years


def test_database_url_precedence(tmp_path):
    path = tmp_path / "anbi.toml"
    path.write_text(GOOD)
    assert load_settings(path, environ={"ANBI_DATABASE_URL": "sqlite:///env.db"}).database_url == "sqlite:///env.db"
    assert load_settings(path, environ={"ANBI_DATABASE_URL": "sqlite:///env.db"}, database_url="sqlite:///cli.db").database_url == "sqlite:///cli.db"


def test_default_database_is_local_sqlite_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_settings(environ={}).database_url == "sqlite:///anbi.db"


@pytest.mark.parametrize("rsin", ["824150005", "000000000", "12345", "abcdefghi"])
def test_rsin_failing_the_eleven_proof_is_refused(tmp_path, rsin):
    path = tmp_path / "anbi.toml"
    path.write_text(GOOD.replace("824150004", rsin))
    with pytest.raises(ConfigurationError, match="RSIN"):
        load_settings(path, environ={})


def test_missing_config_file_named_explicitly_is_an_error(tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_settings(tmp_path / "missing.toml", environ={})


def _refused(tmp_path, text: str, environ: dict | None = None) -> str:
    path = tmp_path / "anbi.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(path, environ=environ or {})
    message = str(caught.value)
    assert "\n" not in message
    return message.replace(str(path), "anbi.toml")


# One typo for each section, as a person would make it, and what it should have been.
TYPOS = {
    "organisation": ("adress", "address"),
    "stripe": ("webhook_secrt", "webhook_secret"),
    "sepa": ("lead_day", "lead_days"),
    "web": ("base_ur", "base_url"),
    "smtp": ("prot", "port"),
    "odoo": ("jornal", "journal"),
    "privacy": ("retention_year", "retention_years"),
}


def test_every_section_has_a_typo_case():
    assert set(TYPOS) == set(SECTIONS)


@pytest.mark.parametrize("section", sorted(TYPOS))
def test_a_typo_in_any_section_is_refused_naming_the_key_and_the_nearest_one(tmp_path, section):
    typo, meant = TYPOS[section]
    organisation = "" if section == "organisation" else GOOD
    text = f'{organisation}\n[{section}]\n{typo} = "1"\n'
    if section == "organisation":
        text = GOOD.replace('address = ', f'{typo} = ')
    assert _refused(tmp_path, text) == f"anbi.toml [{section}] {typo}: unknown setting (did you mean {meant}?)"


def test_a_key_like_no_known_one_lists_the_sections_keys(tmp_path):
    message = _refused(tmp_path, "[smtp]\nwachtwoord = 'x'\n")
    assert message == ("anbi.toml [smtp] wachtwoord: unknown setting "
                       "(the settings of [smtp] are host, port, tls, user, password, sender)")


def test_an_unknown_section_and_a_stray_top_level_key_are_refused(tmp_path):
    assert _refused(tmp_path, "[smpt]\nhost = 'mail'\n") == "anbi.toml [smpt]: unknown section (did you mean [smtp]?)"
    assert _refused(tmp_path, "databse_url = 'sqlite:///x.db'\n") == (
        "anbi.toml databse_url: unknown setting (did you mean database_url?)")
    assert _refused(tmp_path, "host = 'mail'\n[smtp]\n") == (
        "anbi.toml host: unknown setting (it is a setting of [smtp]: write it under that heading)")
    assert _refused(tmp_path, "smtp = 'mail'\n") == "anbi.toml: [smtp] must be a table"


# A wrong value in each section, and the words the refusal must have.
WRONG_VALUES = [
    ("organisation", 'name = "X"\nrsin = "824150005"', "[organisation] RSIN '824150005' fails the 11-proof"),
    ("organisation", 'rsin = "824150004"', "[organisation] name is required"),
    ("stripe", "max_network_retries = -1", "[stripe] max_network_retries must be a whole number, not -1"),
    ("stripe", 'api_base = "localhost:12111"', "[stripe] api_base 'localhost:12111' must look like https://api.stripe.com"),
    ("sepa", 'lead_days = "twee"', "[sepa] lead_days must be a whole number, not 'twee'"),
    ("sepa", "mandate_expiry_months = -3", "[sepa] mandate_expiry_months must not be negative"),
    ("sepa", 'iban = "NL91ABNA0417164301"', "[sepa] IBAN"),
    ("sepa", 'first_as_frst = "misschien"', "[sepa] first_as_frst must be true or false, not 'misschien'"),
    ("sepa", "max_failures = 0", "[sepa] max_failures must be a whole number of at least 1, not 0"),
    ("web", 'secret_key = "kort"', "[web] secret_key is too short (4 characters): use at least 32 random characters"),
    ("web", 'base_url = "crm.voorbeeld.example"', "[web] base_url 'crm.voorbeeld.example' is not an address like"),
    ("web", 'secure_cookies = "maybe"', "[web] secure_cookies must be true or false, not 'maybe'"),
    ("smtp", 'port = "587a"', "[smtp] port '587a' is not a number from 1 to 65535"),
    ("smtp", 'tls = "tls"', "[smtp] tls must be one of false, starttls, ssl, not 'tls'"),
    ("smtp", "host = 25", None),   # a number is taken as the text it is
    ("odoo", 'url = "https://odoo.example/odoo"', "[odoo] url 'https://odoo.example/odoo' must be the server's root"),
    ("odoo", 'protocol = "xmlrpc"', "[odoo] protocol must be json2 (Odoo 19+) or jsonrpc (Odoo 17-18), not 'xmlrpc'"),
    ("odoo", 'timeout = "soon"', "[odoo] timeout must be a number of seconds above 0, not 'soon'"),
    ("odoo", "batch_size = 0", "[odoo] batch_size must be a whole number from 1 to 5000, not 0"),
    ("odoo", 'on_lock_date = "move"', '[odoo] on_lock_date must be "stop" or "report", not \'move\''),
    ("odoo", 'accounts = "101401"', "[odoo] accounts must be a table of account codes: [odoo.accounts]"),
    ("privacy", 'retention_years = "zeven"', "[privacy] retention_years must be a whole number of years, at least 1"),
    ("privacy", "retention_years = true", "[privacy] retention_years must be a whole number of years"),
]


@pytest.mark.parametrize("section, values, words", WRONG_VALUES)
def test_a_wrong_value_is_refused_at_start_up_naming_section_and_key(tmp_path, section, values, words):
    path = tmp_path / "anbi.toml"
    path.write_text(f"[{section}]\n{values}\n", encoding="utf-8")
    if words is None:
        load_settings(path, environ={})
        return
    message = _refused(tmp_path, f"[{section}]\n{values}\n")
    assert message.startswith(f"anbi.toml {words}"), message


def test_every_section_has_a_wrong_value_case():
    assert {section for section, _, words in WRONG_VALUES if words} == set(SECTIONS)


def test_an_unknown_account_kind_is_refused_naming_the_nearest(tmp_path):
    text = "[odoo.accounts]\nbank = '101401'\nincome.private_individual = '400100'\n"
    assert _refused(tmp_path, text) == ("anbi.toml [odoo.accounts] income.private_individual: "
                                        "unknown setting (did you mean income.private_individuals?)")
    assert _refused(tmp_path, "[odoo.accounts]\nbank = true\n") == (
        "anbi.toml [odoo.accounts] bank must be an account code, not True")


def test_every_problem_is_named_in_the_one_line(tmp_path):
    message = _refused(tmp_path, "[smtp]\nprot = 1\ntls = 'tls'\n[sepa]\nlead_days = 'x'\n")
    assert message.count("; ") == 2 and "[smtp] prot" in message and "[smtp] tls" in message and "[sepa] lead_days" in message


def test_environment_overrides_are_checked_as_the_file_is(tmp_path):
    path = tmp_path / "anbi.toml"
    path.write_text(GOOD, encoding="utf-8")
    settings = load_settings(path, environ={"ANBI_SMTP_PORT": "587", "ANBI_SEPA_FIRST_AS_FRST": "ja",
                                            "ANBI_ODOO_BATCH_SIZE": "20", "ANBI_WEB_SECURE_COOKIES": "false"})
    assert (settings.smtp.port, settings.sepa.first_as_frst, settings.odoo.batch_size) == (587, True, 20)
    assert settings.web.secure_cookies is False
    assert _refused(tmp_path, GOOD, {"ANBI_SMTP_PORT": "poort"}) == (
        "$ANBI_SMTP_PORT [smtp] port 'poort' is not a number from 1 to 65535")
    assert _refused(tmp_path, GOOD, {"ANBI_SMTP_PROT": "587"}) == (
        "$ANBI_SMTP_PROT [smtp] prot: unknown setting (did you mean port?)")
    assert _refused(tmp_path, GOOD, {"ANBI_ORGANISATION_RSIN": "123"}).startswith(
        "$ANBI_ORGANISATION_RSIN [organisation] RSIN '123'")
    # Variables of no section are not settings: they are left alone.
    assert load_settings(path, environ={"ANBI_SERVE_PORT": "8000", "ANBI_DEBUG": "1"}).smtp.port is None


def test_an_environment_value_beats_the_file_and_empty_means_not_set(tmp_path):
    path = tmp_path / "anbi.toml"
    path.write_text(GOOD + "[smtp]\nport = 'wrong'\nhost = 'mail.example'\n", encoding="utf-8")
    settings = load_settings(path, environ={"ANBI_SMTP_PORT": "2525", "ANBI_SMTP_HOST": ""})
    assert settings.smtp.port == 2525 and settings.smtp.host == ""


def test_defaults_are_those_documented():
    settings = Settings()
    assert (settings.sepa.lead_days, settings.sepa.mandate_expiry_months, settings.sepa.max_failures) == (1, 36, 3)
    assert settings.sepa.first_as_frst is False and settings.stripe.max_network_retries == 2
    assert (settings.odoo.protocol, settings.odoo.timeout, settings.odoo.retries) == ("json2", 60.0, 3)
    assert (settings.odoo.batch_size, settings.odoo.partner_batch_size, settings.odoo.on_lock_date) == (100, 1000, "stop")
    assert settings.odoo.ref_prefix == "anbi" and dict(settings.odoo.accounts) == {}
    assert (settings.smtp.tls, settings.smtp.port_or_default) == ("false", 25)
    assert dataclasses.replace(settings.smtp, tls="ssl").port_or_default == 465
    assert settings.web.receipts_dir == "receipts" and settings.web.secure_cookies is None
    assert settings.retention_years == 7 and settings.organisation is None


def test_settings_made_in_code_are_checked_the_same_way():
    with pytest.raises(ConfigurationError, match=r"^\[smtp\] prot: unknown setting \(did you mean port\?\)$"):
        Settings(sections={"smtp": {"prot": 25}})
    with pytest.raises(ConfigurationError, match=r"^\[smpt\]: unknown section"):
        Settings(sections={"smpt": {}})
    settings = Settings(sections={"organisation": {"name": "X", "rsin": "824150004"}, "smtp": {"port": "2525"}})
    assert settings.organisation.name == "X" and settings.smtp.port == 2525


def test_secrets_are_not_in_the_settings_repr(tmp_path):
    secrets = {"ANBI_STRIPE_API_KEY": "sk_live_geheim", "ANBI_STRIPE_WEBHOOK_SECRET": "whsec_geheim",
               "ANBI_SMTP_PASSWORD": "wachtwoord-geheim", "ANBI_ODOO_API_KEY": "odoo-geheim",
               "ANBI_WEB_SECRET_KEY": "k" * 40}
    path = tmp_path / "anbi.toml"
    path.write_text(GOOD, encoding="utf-8")
    settings = load_settings(path, environ=secrets)
    text = repr(settings)
    for value in secrets.values():
        assert value not in text


def test_the_command_line_says_a_typo_in_one_line_and_exits_1(tmp_path):
    from click.testing import CliRunner

    from anbi.cli import cli

    path = tmp_path / "anbi.toml"
    path.write_text("[smtp]\nprot = 587\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(path), "donors", "list"], env={"ANBI_DATABASE_URL": ""})
    assert result.exit_code == 1
    assert result.stderr == f"error: {path} [smtp] prot: unknown setting (did you mean port?)\n"
    assert "Traceback" not in result.output
