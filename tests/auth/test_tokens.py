"""Token issuing and revocation, one mechanism at a time (hydronet/auth/tokens.py).

Logout revokes several things at once (the token, its refresh parent, the family), so each revocation
path is exercised here on its own: a path that silently stopped working fails its own test.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from flask_jwt_extended import create_refresh_token, decode_token

from hydronet.auth import tokens
from hydronet.kernel.store import get_store
from tests.support.factories import PASSWORD


@pytest.fixture
def user(factory):
    return factory.user(factory.tenant())


def sign_in(client, user) -> dict:
    resp = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 200
    return resp.get_json()


def claims(app, token: str) -> dict:
    with app.test_request_context():
        return decode_token(token, allow_expired=True)


def me(client, access: str) -> int:
    return client.get("/api/auth/me", headers={"Authorization": f"Bearer {access}"}).status_code


def refresh(client, refresh_token: str):
    return client.post("/api/auth/refresh", json={"refresh_token": refresh_token})


def test_a_pair_is_linked_and_shaped(app, client, user):
    pair = sign_in(client, user)
    access, refresh_ = claims(app, pair["access_token"]), claims(app, pair["refresh_token"])
    assert access["type"] == "access" and refresh_["type"] == "refresh"
    assert access["rjti"] == refresh_["jti"] and access["fam"] == refresh_["fam"]
    assert access["tv"] == refresh_["tv"] == 1 and access["tid"] == str(user.tenant_id)
    assert access["fresh"] and pair["expires_in"] == app.config["JWT_ACCESS_TOKEN_MINUTES"] * 60
    assert pair["token_type"] == "Bearer"
    assert access["exp"] - access["iat"] == app.config["JWT_ACCESS_TOKEN_MINUTES"] * 60
    assert refresh_["exp"] - refresh_["iat"] == app.config["JWT_REFRESH_TOKEN_DAYS"] * 86400
    rotated = refresh(client, pair["refresh_token"]).get_json()
    assert claims(app, rotated["refresh_token"])["fam"] == refresh_["fam"]  # rotation stays in the family
    assert not claims(app, rotated["access_token"])["fresh"]  # a refreshed access token is not fresh


def test_refresh_refuses_an_access_token(app, client, user):
    pair = sign_in(client, user)
    resp = refresh(client, pair["access_token"])
    assert resp.status_code == 401 and resp.get_json()["error"] == {
        "code": "invalid_token",
        "message": "A refresh token is required",
    }
    header = client.post("/api/auth/refresh", headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert header.status_code in (401, 422) and header.get_json()["success"] is False


@pytest.mark.parametrize("garbage", ["not-a-jwt", "a.b.c", "eyJhbGciOiJub25lIn0.e30."])
def test_refresh_refuses_an_undecodable_token(client, garbage):
    resp = refresh(client, garbage)
    assert resp.status_code == 401 and resp.get_json()["error"] == {
        "code": "invalid_token",
        "message": "The refresh token is invalid or expired",
    }


def test_revoking_one_access_token(app, client, user):
    pair = sign_in(client, user)
    access = claims(app, pair["access_token"])
    with app.test_request_context():
        tokens.revoke_jti(access["jti"], access["exp"])
        ttl = get_store().ttl(tokens.REVOKED + access["jti"])
    assert ttl is not None and access["exp"] - time.time() - 5 <= ttl <= access["exp"] - time.time() + 1
    assert me(client, pair["access_token"]) == 401
    assert refresh(client, pair["refresh_token"]).status_code == 200  # only that token


def test_an_access_token_dies_with_its_refresh_parent(app, client, user):
    pair = sign_in(client, user)
    parent = claims(app, pair["refresh_token"])
    assert me(client, pair["access_token"]) == 200
    with app.test_request_context():
        tokens.revoke_jti(parent["jti"], parent["exp"])
    assert me(client, pair["access_token"]) == 401
    assert refresh(client, pair["refresh_token"]).status_code == 401


def test_revoking_a_family_ends_every_token_of_it(app, client, user):
    pair = sign_in(client, user)
    other = sign_in(client, user)
    fam = claims(app, pair["refresh_token"])["fam"]
    with app.test_request_context():
        tokens.revoke_family(fam)
        ttl = get_store().ttl(tokens.FAMILY + fam)
    assert ttl is not None and abs(ttl - app.config["JWT_REFRESH_TOKEN_DAYS"] * 86400) < 5
    assert me(client, pair["access_token"]) == 401 and refresh(client, pair["refresh_token"]).status_code == 401
    assert me(client, other["access_token"]) == 200  # another sign-in is another family


def test_revocation_holds_inside_the_grace_window(app, client, user):
    pair = sign_in(client, user)
    assert refresh(client, pair["refresh_token"]).status_code == 200
    old = claims(app, pair["refresh_token"])
    with app.test_request_context():
        tokens.revoke_jti(old["jti"], old["exp"])
    resp = refresh(client, pair["refresh_token"])  # within the grace window, but revoked
    assert resp.status_code == 401 and resp.get_json()["error"] == {
        "code": "token_revoked",
        "message": "The refresh token has been revoked",
    }


def test_a_family_revoked_inside_the_grace_window_stays_revoked(app, client, user):
    pair = sign_in(client, user)
    assert refresh(client, pair["refresh_token"]).status_code == 200
    with app.test_request_context():
        tokens.revoke_family(claims(app, pair["refresh_token"])["fam"])
    assert refresh(client, pair["refresh_token"]).status_code == 401


def test_replay_after_the_grace_window_revokes_the_family(app, client, user, monkeypatch):
    pair = sign_in(client, user)
    rotated = refresh(client, pair["refresh_token"]).get_json()
    fam = claims(app, pair["refresh_token"])["fam"]
    key = tokens.ROTATED + claims(app, pair["refresh_token"])["jti"]
    with app.test_request_context():
        store = get_store()
        store.set(key, str(time.time() - tokens.ROTATION_GRACE_S - 1))  # rotated just over the window ago
    replay = refresh(client, pair["refresh_token"])
    assert replay.status_code == 401 and replay.get_json()["error"]["code"] == "token_revoked"
    with app.test_request_context():
        assert get_store().get(tokens.FAMILY + fam) == "1"
    assert refresh(client, rotated["refresh_token"]).status_code == 401


def test_the_grace_window_is_fifteen_seconds(app, client, user):
    assert tokens.ROTATION_GRACE_S == 15
    pair = sign_in(client, user)
    assert refresh(client, pair["refresh_token"]).status_code == 200
    key = tokens.ROTATED + claims(app, pair["refresh_token"])["jti"]
    with app.test_request_context():
        get_store().set(key, str(time.time() - 13))
    assert refresh(client, pair["refresh_token"]).status_code == 200  # 13 s later: still a lost answer


def test_rotate_refresh_directly(app, user, client):
    payload = claims(app, sign_in(client, user)["refresh_token"])
    with app.test_request_context():
        assert tokens.rotate_refresh(payload) is True
        assert tokens.rotate_refresh(payload) is True  # again within the window
        get_store().set(tokens.ROTATED + payload["jti"], "not-a-time")
        assert tokens.rotate_refresh(payload) is False  # an unreadable mark is no grace
        assert get_store().get(tokens.FAMILY + payload["fam"]) == "1"


def test_decode_refresh_token(app, client, user):
    pair = sign_in(client, user)
    with app.test_request_context():
        assert tokens.decode_refresh_token(pair["refresh_token"])["type"] == "refresh"
        assert tokens.decode_refresh_token(pair["access_token"]) is None
        assert tokens.decode_refresh_token("garbage") is None


def test_revocation_ttls_are_bounded(app):
    with app.test_request_context():
        assert tokens._ttl(time.time() - 100) == 1.0  # already expired: the shortest mark, never negative
        assert tokens._ttl(None) == 86400.0 * 31
        assert 99 <= tokens._ttl(time.time() + 100) <= 100


def test_the_grace_window_includes_its_last_instant(app, monkeypatch):
    now = 1_800_000_000.0
    monkeypatch.setattr(tokens.time, "time", lambda: now)
    assert tokens._within_grace(str(now - tokens.ROTATION_GRACE_S)) is True
    assert tokens._within_grace(str(now - tokens.ROTATION_GRACE_S - 0.001)) is False


def test_the_rotation_mark_lives_as_long_as_the_token(app, client, user):
    payload = claims(app, sign_in(client, user)["refresh_token"])
    with app.test_request_context():
        assert tokens.rotate_refresh(payload) is True
        ttl = get_store().ttl(tokens.ROTATED + payload["jti"])
    remaining = payload["exp"] - time.time()
    assert ttl is not None and remaining - 5 <= ttl <= remaining + 1  # not forever, not the 31-day default


def test_an_expired_refresh_token_still_decodes_for_logout(app, user):
    with app.test_request_context():
        expired = create_refresh_token(
            identity=str(user.id), additional_claims={"fam": "f", "jti": "j"}, expires_delta=timedelta(seconds=-60)
        )
        payload = tokens.decode_refresh_token(expired)
    assert payload is not None and payload["fam"] == "f"


def test_lifetimes_follow_the_settings(app, factory, user, monkeypatch):
    monkeypatch.setitem(app.config, "JWT_ACCESS_TOKEN_MINUTES", 5)
    monkeypatch.setitem(app.config, "JWT_REFRESH_TOKEN_DAYS", 7)
    pair = factory.tokens(user)
    access, refresh_ = claims(app, pair["access_token"]), claims(app, pair["refresh_token"])
    assert access["exp"] - access["iat"] == 5 * 60 and pair["expires_in"] == 300
    assert refresh_["exp"] - refresh_["iat"] == 7 * 86400
