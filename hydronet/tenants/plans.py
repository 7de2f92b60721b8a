"""Plans and their quota defaults; a tenant's effective quotas."""

from __future__ import annotations

from typing import Any

from hydronet.models import Tenant

UNLIMITED = -1

QUOTA_NAMES = (
    "messages_per_day",
    "tokens_per_month",
    "users",
    "conversations",
    "networks",
    "mcp_servers",
    "api_keys",
    "storage_mb",
    "requests_per_minute",
)

PLAN_DEFAULTS: dict[str, dict[str, Any]] = {
    "free": {
        "messages_per_day": 50,
        "tokens_per_month": 200_000,
        "users": 3,
        "conversations": 100,
        "networks": 3,
        "mcp_servers": 0,
        "api_keys": 2,
        "storage_mb": 20,
        "requests_per_minute": 60,
        "models": ["qwen-turbo"],
    },
    "basic": {
        "messages_per_day": 500,
        "tokens_per_month": 2_000_000,
        "users": 10,
        "conversations": 1000,
        "networks": 20,
        "mcp_servers": 2,
        "api_keys": 5,
        "storage_mb": 200,
        "requests_per_minute": 120,
        "models": ["qwen-turbo", "qwen-plus"],
    },
    "pro": {
        "messages_per_day": 5000,
        "tokens_per_month": 20_000_000,
        "users": 50,
        "conversations": 20_000,
        "networks": 200,
        "mcp_servers": 10,
        "api_keys": 20,
        "storage_mb": 2000,
        "requests_per_minute": 600,
        "models": ["qwen-turbo", "qwen-plus", "qwen-max"],
    },
    "enterprise": {
        "messages_per_day": UNLIMITED,
        "tokens_per_month": UNLIMITED,
        "users": UNLIMITED,
        "conversations": UNLIMITED,
        "networks": UNLIMITED,
        "mcp_servers": 50,
        "api_keys": 100,
        "storage_mb": 50_000,
        "requests_per_minute": 3000,
        "models": ["qwen-turbo", "qwen-plus", "qwen-max", "qwen-long"],
    },
}


def quotas_for(plan: str, overrides: dict[str, Any] | None) -> dict[str, Any]:
    """A plan's defaults with a tenant's overrides applied (unknown names ignored)."""
    quotas = dict(PLAN_DEFAULTS.get(plan, PLAN_DEFAULTS["free"]))
    for name, value in (overrides or {}).items():
        if name in quotas:
            quotas[name] = value
    return quotas


def effective_quotas(tenant: Tenant) -> dict[str, Any]:
    """The tenant's plan defaults with its overrides applied."""
    return quotas_for(tenant.plan, tenant.quota_overrides)


# flask-limiter needs a number: an unlimited plan gets a ceiling no real client reaches.
NO_LIMIT_PER_MINUTE = 1_000_000


def per_minute_limit(quotas: dict[str, Any]) -> str:
    """The quotas' requests per minute as a flask-limiter limit string."""
    value = int(quotas.get("requests_per_minute", PLAN_DEFAULTS["free"]["requests_per_minute"]))
    return f"{value if value > 0 else NO_LIMIT_PER_MINUTE} per minute"


def default_model(tenant: Tenant, configured_default: str) -> str:
    """The model a tenant's chat uses: its setting if its plan allows it, else the default."""
    allowed = effective_quotas(tenant)["models"]
    wanted = (tenant.settings or {}).get("model") or configured_default
    if wanted in allowed:
        return wanted
    return configured_default if configured_default in allowed else allowed[0]
