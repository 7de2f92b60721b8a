"""Fixtures for the API-wide tests: an app whose rate limits stay out of the fuzzers' way, a tenant to fuzz as."""

from __future__ import annotations

import io
import os
from typing import Any

import pytest

from hydronet.water.loader import load_bundled

RELAXED_LIMITS = {
    "RATELIMIT_DEFAULT_API": "100000 per minute",
    "RATELIMIT_LOGIN": "100000 per minute",
    "RATELIMIT_REGISTER": "100000 per minute",
}
ON_POSTGRES = os.environ.get("HYDRONET_TEST_DATABASE_URL", "").startswith("postgresql")
NET1 = load_bundled("Net1")


@pytest.fixture(scope="session")
def fuzz_app(backends, app):
    """The app with rate limits far above what fuzzing sends (the limiter is shared: no RATELIMIT_ENABLED)."""
    from hydronet.web.app import create_app

    fapp = create_app(backends.app_config(**RELAXED_LIMITS))
    backends.apps.append(fapp)
    return fapp


@pytest.fixture
def owner(fuzz_app, factory) -> dict[str, Any]:
    """A pro tenant's owner (headers), with a conversation, a spare member and a network."""
    tenant = factory.tenant("Fuzz Water", plan="pro", quota_overrides={"requests_per_minute": -1})
    headers = factory.headers(factory.user(tenant, role="owner"))
    client = fuzz_app.test_client()
    conv = client.post("/api/chat/conversations", json={"title": "fuzz"}, headers=headers).get_json()
    net = client.post("/api/networks/import", json={"example": "Net1"}, headers=headers).get_json()
    return {
        "client": client,
        "headers": headers,
        "tenant": tenant,
        "ids": {
            "conversation_id": conv["conversation"]["id"],
            "user_id": str(factory.user(tenant, role="member").id),
            "network_id": net["network"]["id"],
            "tenant_id": str(tenant.id),
            "kind": "summary",
        },
    }


def upload(owner: dict[str, Any], data: bytes, filename: str = "net.inp"):
    """POST an .inp as the owner (multipart)."""
    files = {"file": (io.BytesIO(data), filename)}
    return owner["client"].post(
        "/api/networks", data=files, headers=owner["headers"], content_type="multipart/form-data"
    )
