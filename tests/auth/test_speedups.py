"""A token is verified once per process, yet expiry, key changes and revocation still apply on every use."""

from __future__ import annotations

import time


def _me(client, headers):
    return client.get("/api/auth/me", headers=headers)


def test_a_remembered_token_still_expires(client, factory, two_tenants, app, monkeypatch):
    user = two_tenants["a_users"]["member"]
    monkeypatch.setitem(app.config, "JWT_ACCESS_TOKEN_MINUTES", 0.03)  # 1.8 s
    headers = factory.headers(user)
    assert _me(client, headers).status_code == 200  # verified, remembered
    token = headers["Authorization"].split()[1]
    assert any(key[0] == token for key in app.extensions["hydronet.jwt_verified"])
    assert _me(client, headers).status_code == 200  # served from the process cache
    time.sleep(2.0)
    resp = _me(client, headers)
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "token_expired"


def test_a_token_is_checked_again_when_the_signing_key_changes(client, factory, two_tenants, app, monkeypatch):
    user = two_tenants["a_users"]["member"]
    headers = factory.headers(user)
    assert _me(client, headers).status_code == 200
    monkeypatch.setitem(app.config, "JWT_SECRET_KEY", "a-completely-different-signing-key-0123456789abcdef")
    resp = _me(client, headers)
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "invalid_token"


def test_a_remembered_token_is_still_revoked_by_logout(client, factory, two_tenants):
    user = two_tenants["a_users"]["member"]
    headers = factory.headers(user)
    assert _me(client, headers).status_code == 200
    assert client.post("/api/auth/logout", headers=headers).status_code == 200
    resp = _me(client, headers)
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "token_revoked"


def test_a_forged_token_is_never_remembered(client, factory, two_tenants):
    user = two_tenants["a_users"]["member"]
    token = factory.tokens(user)["access_token"]
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-4]}AAAA"
    for _ in range(2):
        assert _me(client, {"Authorization": f"Bearer {forged}"}).status_code == 401
    assert _me(client, {"Authorization": f"Bearer {token}"}).status_code == 200


def test_the_header_of_a_verified_token_is_read_once(client, factory, two_tenants, app, monkeypatch):
    """flask-jwt-extended asks for the header again after verifying; it comes from the cache, unchanged."""
    import jwt as pyjwt
    from flask_jwt_extended import view_decorators

    from hydronet.auth.speedups import verified_header as _verified_header

    assert view_decorators.get_unverified_jwt_headers is _verified_header
    parse = pyjwt.get_unverified_header
    parsed = []
    monkeypatch.setattr(pyjwt, "get_unverified_header", lambda token: parsed.append(token) or parse(token))
    token = factory.tokens(two_tenants["a_users"]["member"])["access_token"]
    assert _me(client, {"Authorization": f"Bearer {token}"}).status_code == 200
    first = len(parsed)  # read while the token was verified
    assert first and set(parsed) == {token}
    assert _me(client, {"Authorization": f"Bearer {token}"}).status_code == 200
    assert len(parsed) == first  # flask-jwt-extended's own read was served from the cache
    with app.app_context():
        assert app.extensions["hydronet.jwt_headers"][token] == parse(token)
        assert _verified_header(token) == parse(token)
        other = factory.tokens(two_tenants["a_users"]["admin"])["access_token"]  # not verified yet: parsed
        assert other not in app.extensions["hydronet.jwt_headers"]
        assert _verified_header(other) == parse(other)


# --- the library surface hydronet/auth/speedups.py relies on ---------------------------------------
# These fail when flask-jwt-extended changes under the override: remove the speedups then, do not patch.


def test_the_overridden_method_keeps_its_signature_and_role():
    import inspect

    from flask_jwt_extended import JWTManager

    params = list(inspect.signature(JWTManager._decode_jwt_from_config).parameters)
    assert params == ["self", "encoded_token", "csrf_value", "allow_expired"]
    # the library routes every verification through it
    from flask_jwt_extended import utils

    assert "_decode_jwt_from_config" in inspect.getsource(utils.decode_token)


def test_the_view_decorators_read_the_header_through_the_replaced_name():
    import inspect

    import flask_jwt_extended.view_decorators as views

    source = inspect.getsource(views._decode_jwt_from_headers) if hasattr(views, "_decode_jwt_from_headers") else ""
    source += inspect.getsource(views)
    assert "get_unverified_jwt_headers(encoded_token)" in source
    assert "from flask_jwt_extended.utils import get_unverified_jwt_headers" in source
