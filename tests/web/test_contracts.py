"""The per-field 422 answers the request contracts give (kernel/contracts.py), endpoint by endpoint."""

from __future__ import annotations

import pytest

from hydronet.chat.conversations import TITLE_MAX

FAKE_ID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def owner(factory, two_tenants):
    return factory.headers(two_tenants["a_users"]["owner"])


@pytest.mark.parametrize(
    ("method", "url", "body", "fields"),
    [
        (
            "POST",
            "/api/auth/register",
            {},
            {"email": "is required", "password": "is required", "tenant_name": "is required"},
        ),
        (
            "POST",
            "/api/auth/register",
            {"email": "nope", "password": "Test@1234", "tenant_name": "  "},
            {"email": "is not a valid email address", "tenant_name": "must not be empty"},
        ),
        (
            "POST",
            "/api/auth/register",
            {"email": "a@b.example.com", "password": "Test@1234", "tenant_name": "x" * 121},
            {"tenant_name": "must be at most 120 characters"},
        ),
        (
            "POST",
            "/api/auth/login",
            {"email": "   ", "password": 5},
            {"email": "must not be empty", "password": "must be a string"},
        ),
        ("POST", "/api/auth/reset-password", {"token": "t"}, {"password": "is required"}),
    ],
)
def test_public_bodies(client, method, url, body, fields):
    resp = client.open(url, method=method, json=body)
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert error["code"] == "validation_error" and error["fields"] == fields


@pytest.mark.parametrize(
    ("method", "url", "body", "fields"),
    [
        ("POST", "/api/chat/conversations", {"title": 5}, {"title": "must be a string"}),
        (
            "POST",
            "/api/chat/conversations",
            {"title": "x" * (TITLE_MAX + 1)},
            {"title": f"must be at most {TITLE_MAX} characters"},
        ),
        (
            "POST",
            "/api/tenant/users",
            {"email": "new@example.com", "role": "boss", "name": None},
            {"role": "must be one of: owner, admin, member, viewer"},
        ),
        (
            "POST",
            "/api/tenant/api-keys",
            {"name": "k", "scopes": "chat", "expires_at": "soon"},
            {
                "scopes": "must be a list of strings",
                "expires_at": "must be an ISO-8601 date-time between years 1 and 9999",
            },
        ),
        (
            "POST",
            "/api/tenant/api-keys",
            {"name": "k", "scopes": ["chat"] * 11},
            {"scopes": "must have at most 10 items"},
        ),
        (
            "PATCH",
            "/api/tenant",
            {"settings": [], "name": True},
            {"name": "must be a string", "settings": "must be an object"},
        ),
        ("PATCH", f"/api/tenant/users/{FAKE_ID}", {"is_active": "no"}, {"is_active": "must be true or false"}),
        (
            "POST",
            "/api/tenant/mcp-servers",
            {"url": "https://mcp.example.com", "timeout_s": "5", "allowed_tools": [1]},
            {
                "name": "is required",
                "allowed_tools": "must be a list of strings",
                "timeout_s": "must be a number of seconds",
            },
        ),
        ("POST", "/api/networks/import", {"example": ""}, {"example": "must not be empty"}),
    ],
)
def test_tenant_bodies(client, owner, method, url, body, fields):
    resp = client.open(url, method=method, json=body, headers=owner)
    assert resp.status_code == 422
    assert resp.get_json()["error"]["fields"] == fields


@pytest.mark.parametrize(
    ("url", "fields"),
    [
        ("/api/chat/conversations?limit=abc", {"limit": "must be an integer"}),
        ("/api/chat/conversations?limit=0", {"limit": "must be between 1 and 100"}),
        (f"/api/chat/conversations/{FAKE_ID}?messages=201", {"messages": "must be between 0 and 200"}),
        (
            "/api/tenant/audit-logs?user_id=x&since=yesterday",
            {"user_id": "must be a UUID", "since": "must be an ISO-8601 date-time between years 1 and 9999"},
        ),
        ("/api/tenant/audit-logs?format=xml", {"format": "must be json or csv"}),
        (
            "/api/tenant/audit-logs?exclude_action=" + ",".join(f"a{i}" for i in range(11)),
            {"exclude_action": "at most 10 actions"},
        ),
        (f"/api/networks/{FAKE_ID}/map.json?duration_h=abc", {"duration_h": "must be a number"}),
        (f"/api/networks/{FAKE_ID}/timeseries?duration_h=inf", {"duration_h": "must be a finite number"}),
        (
            f"/api/networks/{FAKE_ID}/analyses/summary/export.xlsx?params=[1]&lang=fr",
            {"params": "must be a JSON object", "lang": "must be zh or en"},
        ),
    ],
)
def test_query_strings(client, owner, url, fields):
    resp = client.get(url, headers=owner)
    assert resp.status_code == 422
    assert resp.get_json()["error"]["fields"] == fields


def test_valid_input_reaches_the_view(client, owner):
    created = client.post("/api/chat/conversations", json={"title": "  水网  "}, headers=owner)
    assert created.status_code == 201 and created.get_json()["conversation"]["title"] == "水网"
    listed = client.get("/api/chat/conversations?limit=&archived=all&q=%20%20", headers=owner)
    assert listed.status_code == 200 and len(listed.get_json()["conversations"]) == 1
    searched = client.get("/api/chat/conversations", query_string={"q": "x" * 200}, headers=owner)
    assert searched.status_code == 200 and searched.get_json()["conversations"] == []  # cut to 100, not refused
