import pytest

from anbi.core.errors import ConfigurationError
from anbi.core.settings import load_settings

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
    assert settings.section("stripe")["api_key"] == "sk_test_1"
    assert settings.retention_years == 8


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
