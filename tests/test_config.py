"""Settings: URL normalisation, refusing weak secrets, embedded defaults."""
from __future__ import annotations

import pytest

from hydronet.config import ConfigError, load_settings, normalize_database_url, validate_settings


@pytest.mark.parametrize(
    "url, expected",
    [
        ("postgresql://u:p@h:5432/d", "postgresql+psycopg2://u:p@h:5432/d"),
        ("postgres://u@h/d", "postgresql+psycopg2://u@h/d"),
        ("postgresql+psycopg2://u@h/d", "postgresql+psycopg2://u@h/d"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_url_normalised(url, expected):
    assert normalize_database_url(url) == expected


@pytest.mark.parametrize("name", ["SECRET_KEY", "JWT_SECRET_KEY"])
@pytest.mark.parametrize("value", ["", "your-secret-key-here", "short"])
def test_weak_secret_refused_without_debug(name, value):
    env = {"SECRET_KEY": "s" * 40 + "A1", "JWT_SECRET_KEY": "j" * 40 + "B2", name: value}
    cfg = load_settings(env)
    with pytest.raises(ConfigError, match=name):
        validate_settings(cfg)


def test_debug_allows_dev_secrets_and_embedded_defaults():
    cfg = load_settings({"DEBUG": "True"})
    validate_settings(cfg)
    assert cfg["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert cfg["REDIS_URL"] == ""
    assert cfg["SECRET_KEY"]


def test_require_services_refuses_sqlite():
    cfg = load_settings({"DEBUG": "1", "HYDRONET_REQUIRE_SERVICES": "1"})
    with pytest.raises(ConfigError, match="PostgreSQL"):
        validate_settings(cfg)
