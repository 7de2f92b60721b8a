"""Token and secret hygiene: JWT key rotation, pinned algorithms, secrets at rest, headers."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.fernet import Fernet

from hydronet.auth import passwords
from hydronet.kernel import secrets
from hydronet.kernel.db import db
from hydronet.kernel.tenancy import all_tenants, bind_tenant
from hydronet.models import McpServer


def _app(backends, **overrides):
    from hydronet.web.app import create_app

    app = create_app(backends.app_config(**overrides))
    backends.apps.append(app)
    return app


def test_jwt_secret_rotation_keeps_old_tokens_valid(app, backends, factory, two_tenants):
    user = two_tenants["a_users"]["member"]
    old_token = factory.tokens(user)["access_token"]
    rotated = _app(
        backends,
        JWT_SECRET_KEY="a-brand-new-jwt-secret-0123456789-abcdef",
        JWT_PREVIOUS_SECRET_KEYS=[app.config["JWT_SECRET_KEY"]],
    )
    client = rotated.test_client()
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {old_token}"}).status_code == 200
    fresh = client.post("/api/auth/login", json={"email": user.email, "password": "Str0ng-Pass!2026"}).get_json()
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {fresh['access_token']}"}).status_code == 200
    # without the old key in the previous list, old tokens stop working
    retired = _app(backends, JWT_SECRET_KEY="a-brand-new-jwt-secret-0123456789-abcdef")
    assert (
        retired.test_client().get("/api/auth/me", headers={"Authorization": f"Bearer {old_token}"}).status_code == 401
    )


def test_alg_none_and_other_algorithms_refused(client, factory, two_tenants):
    token = factory.tokens(two_tenants["a_users"]["member"])["access_token"]
    header, payload, _sig = token.split(".")
    none_header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).decode().rstrip("=")
    forged = f"{none_header}.{payload}."
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_password_hash_is_argon2id_and_rehashed_when_parameters_change(app, client, factory, two_tenants):
    from argon2 import PasswordHasher

    user = two_tenants["a_users"]["member"]
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("Str0ng-Pass!2026")
    with app.app_context(), all_tenants(db.session):
        from hydronet.models import User

        db.session.get(User, user.id).password_hash = weak
        db.session.commit()
    assert client.post("/api/auth/login", json={"email": user.email, "password": "Str0ng-Pass!2026"}).status_code == 200
    with app.app_context(), all_tenants(db.session):
        stored = db.session.get(User, user.id).password_hash
    assert stored.startswith("$argon2id$") and "m=19456,t=2,p=1" in stored and not passwords.needs_rehash(stored)


def test_secrets_encrypted_at_rest_and_rotated(app, backends, two_tenants):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    first = _app(backends, SECRETS_ENCRYPTION_KEYS=[old_key])
    with first.app_context():
        bind_tenant(db.session, two_tenants["a"].id)
        server = McpServer(
            tenant_id=two_tenants["a"].id,
            name="scada",
            url="https://scada.example.com/mcp",
            headers_encrypted=secrets.encrypt_json({"Authorization": "Bearer scada-token-123"}),
        )
        db.session.add(server)
        db.session.commit()
        stored = server.headers_encrypted
        assert "scada-token-123" not in stored
    rotated = _app(backends, SECRETS_ENCRYPTION_KEYS=[new_key, old_key])
    with rotated.app_context():
        from hydronet.web.secret_rotation import reencrypt_all

        assert secrets.decrypt_json(stored) == {"Authorization": "Bearer scada-token-123"}
        assert reencrypt_all()["mcp_servers"] == 1
    only_new = _app(backends, SECRETS_ENCRYPTION_KEYS=[new_key])
    with only_new.app_context(), all_tenants(db.session):
        rewritten = db.session.query(McpServer).one().headers_encrypted
        assert secrets.decrypt_json(rewritten)["Authorization"] == "Bearer scada-token-123"
    with _app(backends, SECRETS_ENCRYPTION_KEYS=[old_key]).app_context():
        with pytest.raises(secrets.SecretDecryptError):
            secrets.decrypt(rewritten)


def test_security_headers_and_closed_cors(client):
    resp = client.get("/api/health", headers={"Origin": "https://evil.example.com"})
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Referrer-Policy"]
    assert "Access-Control-Allow-Origin" not in resp.headers
    secure = client.get("/api/health", base_url="https://hydronet.example.com")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_cors_allow_list(backends):
    app = _app(backends, CORS_ORIGINS=["https://ops.example.com"])
    resp = app.test_client().get("/api/health", headers={"Origin": "https://ops.example.com"})
    assert resp.headers["Access-Control-Allow-Origin"] == "https://ops.example.com"


@pytest.mark.parametrize(
    "url",
    [
        "/api/chat/conversations?limit=101",
        "/api/chat/conversations?limit=0",
        "/api/chat/conversations?limit=abc",
        "/api/admin/audit-logs?limit=100000",
    ],
)
def test_pagination_limits_are_422(client, factory, two_tenants, platform_admin, url):
    user = platform_admin if "admin" in url else two_tenants["a_users"]["member"]
    assert client.get(url, headers=factory.headers(user)).status_code == 422


def test_oversized_json_is_413(client, factory, two_tenants):
    headers = factory.headers(two_tenants["a_users"]["member"])
    resp = client.post("/api/chat/conversations", headers=headers, json={"title": "x" * 300_000})
    assert resp.status_code == 413 and resp.get_json()["error"]["code"] == "payload_too_large"
