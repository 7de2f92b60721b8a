"""Settings: URL normalisation, refusing weak secrets, embedded defaults."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from hydronet.config import ALIASES, ConfigError, Settings, build_config, normalize_database_url, validate_settings


def load_settings(env):
    return Settings.from_env(env).flask_config()


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


def test_settings_are_frozen_and_typed_from_their_env_names():
    s = Settings.from_env(
        {
            "QWEN_MODEL": "qwen-max",
            "MAX_UPLOAD_MB": "5",
            "SSE_HEARTBEAT_S": "2.5",
            "WECHAT_ENABLED": "yes",
            "CORS_ORIGINS": "https://a.cn, https://b.cn",
        }
    )
    assert (s.QWEN_MODEL, s.MAX_UPLOAD_MB, s.SSE_HEARTBEAT_S, s.WECHAT_ENABLED) == ("qwen-max", 5, 2.5, True)
    assert s.CORS_ORIGINS == ("https://a.cn", "https://b.cn")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.DEBUG = True  # type: ignore[misc]
    cfg = s.flask_config()
    assert cfg["QWEN_MODEL"] == "qwen-max" and cfg["MAX_CONTENT_LENGTH"] == 5 * 1024 * 1024


def test_a_bad_number_names_the_variable():
    with pytest.raises(ConfigError, match="LLM_MAX_RETRIES"):
        Settings.from_env({"LLM_MAX_RETRIES": "three"})


def test_old_names_still_read_and_the_new_name_wins():
    assert Settings.from_env({"HYDRONET_MCP_ALLOW_PRIVATE": "true"}).MCP_ALLOW_PRIVATE is True
    both = Settings.from_env({"DASHSCOPE_API_KEY": "old", "ALIYUN_API_KEY": "new"})
    assert both.ALIYUN_API_KEY == "new"


def test_overrides_replace_settings_and_what_derives_from_them():
    cfg = build_config(
        {
            "DEBUG": True,
            "DATABASE_URL": "postgresql://u@h/d",
            "MAX_UPLOAD_MB": "1",
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 1},
        },
        env={},
    )
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg2://u@h/d"
    assert cfg["MAX_CONTENT_LENGTH"] == 1024 * 1024
    assert cfg["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_size": 1}


def test_env_example_documents_every_setting():
    text = (Path(__file__).resolve().parent.parent / ".env.example").read_text(encoding="utf-8")
    documented = {line.lstrip("# ").split("=", 1)[0].strip() for line in text.splitlines() if "=" in line}
    missing = [
        f.name
        for f in dataclasses.fields(Settings)
        if f.name not in documented and not (set(ALIASES.get(f.name, ())) & documented)
    ]
    assert missing == []
