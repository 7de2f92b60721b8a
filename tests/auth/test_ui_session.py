"""Browser sessions (/api/auth/web): the refresh token lives only in an httpOnly cookie, with CSRF."""

from __future__ import annotations

from http.cookies import SimpleCookie

from tests.support.factories import PASSWORD

WEB = "/api/auth/web"


def set_cookies(resp) -> dict[str, SimpleCookie]:
    """The Set-Cookie headers of a response, by cookie name."""
    out = {}
    for header in resp.headers.getlist("Set-Cookie"):
        jar = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            out[name] = morsel
    return out


def csrf_header(client) -> dict[str, str]:
    cookie = client.get_cookie("hn_csrf", path="/")
    return {"X-CSRF-Token": cookie.value if cookie else ""}


def web_login(client, user, password=PASSWORD):
    return client.post(f"{WEB}/login", json={"email": user.email, "password": password})


def test_login_puts_the_refresh_token_in_an_httponly_cookie_only(client, member_user):
    resp = web_login(client, member_user)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["success"] is True and body["access_token"] and body["user"]["email"] == member_user.email
    assert "refresh_token" not in body and body["csrf_token"]
    cookies = set_cookies(resp)
    refresh = cookies["hn_refresh"]
    assert refresh["httponly"] and refresh["samesite"] == "Strict" and refresh["path"] == WEB
    assert not refresh["secure"]  # plain HTTP in the test client
    csrf = cookies["hn_csrf"]
    assert not csrf["httponly"] and csrf["samesite"] == "Strict" and csrf["path"] == "/"
    assert csrf.value == body["csrf_token"]
    assert resp.headers["Cache-Control"] == "no-store"
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200


def test_cookies_are_secure_over_https(app, member_user):
    client = app.test_client()
    resp = client.post(
        f"{WEB}/login", json={"email": member_user.email, "password": PASSWORD}, base_url="https://localhost"
    )
    cookies = set_cookies(resp)
    assert cookies["hn_refresh"]["secure"] and cookies["hn_csrf"]["secure"]


def test_wrong_password_sets_no_cookie(client, member_user):
    resp = web_login(client, member_user, "not-the-password")
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "invalid_credentials"
    assert "hn_refresh" not in set_cookies(resp)


def test_refresh_needs_the_csrf_header_and_rotates(client, member_user):
    web_login(client, member_user)
    old_refresh = client.get_cookie("hn_refresh", path=WEB).value
    assert client.post(f"{WEB}/refresh").get_json()["error"]["code"] == "csrf_failed"
    wrong = client.post(f"{WEB}/refresh", headers={"X-CSRF-Token": "forged.value"})
    assert wrong.status_code == 403
    ok = client.post(f"{WEB}/refresh", headers=csrf_header(client))
    assert ok.status_code == 200, ok.get_json()
    body = ok.get_json()
    assert body["access_token"] and "refresh_token" not in body and body["user"]["id"] == str(member_user.id)
    assert client.get_cookie("hn_refresh", path=WEB).value != old_refresh
    # the refused attempts did not end the session, and the new cookie works again
    assert client.post(f"{WEB}/refresh", headers=csrf_header(client)).status_code == 200


def test_csrf_cookie_of_another_session_is_refused(app, member_user, two_tenants):
    a, b = app.test_client(), app.test_client()
    web_login(a, member_user)
    web_login(b, two_tenants["b_owner"])
    foreign = b.get_cookie("hn_csrf", path="/").value
    a.set_cookie("hn_csrf", foreign, path="/")
    resp = a.post(f"{WEB}/refresh", headers={"X-CSRF-Token": foreign})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "csrf_failed"


def test_replayed_refresh_cookie_revokes_the_session(client, member_user, monkeypatch):
    monkeypatch.setattr("hydronet.auth.tokens.ROTATION_GRACE_S", 0)  # the replay comes after the grace window
    web_login(client, member_user)
    stolen = client.get_cookie("hn_refresh", path=WEB).value
    assert client.post(f"{WEB}/refresh", headers=csrf_header(client)).status_code == 200
    rotated = client.get_cookie("hn_refresh", path=WEB).value
    csrf = csrf_header(client)
    client.set_cookie("hn_refresh", stolen, path=WEB)
    replay = client.post(f"{WEB}/refresh", headers=csrf_header(client))
    assert replay.status_code == 401
    assert set_cookies(replay)["hn_refresh"].value == ""  # cleared
    # the whole family is revoked: the legitimate, rotated cookie no longer works either
    client.set_cookie("hn_refresh", rotated, path=WEB)
    client.set_cookie("hn_csrf", csrf["X-CSRF-Token"], path="/")
    assert client.post(f"{WEB}/refresh", headers=csrf).status_code == 401


def test_refresh_without_a_session(client):
    resp = client.post(f"{WEB}/refresh", headers={"X-CSRF-Token": "x"})
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "no_session"


def test_logout_revokes_the_session_and_clears_the_cookies(client, member_user):
    login = web_login(client, member_user).get_json()
    headers = csrf_header(client)
    refresh_cookie = client.get_cookie("hn_refresh", path=WEB).value
    assert client.post(f"{WEB}/logout").status_code == 403  # CSRF needed
    out = client.post(f"{WEB}/logout", headers=headers)
    assert out.status_code == 200
    cleared = set_cookies(out)
    assert cleared["hn_refresh"].value == "" and cleared["hn_csrf"].value == ""
    # the access token of that session and the refresh cookie are dead everywhere
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {login['access_token']}"})
    assert me.status_code == 401
    client.set_cookie("hn_refresh", refresh_cookie, path=WEB)
    client.set_cookie("hn_csrf", headers["X-CSRF-Token"], path="/")
    assert client.post(f"{WEB}/refresh", headers=headers).status_code == 401


def test_logout_without_a_session_still_clears(client):
    resp = client.post(f"{WEB}/logout")
    assert resp.status_code == 200 and set_cookies(resp)["hn_refresh"].value == ""


def test_register_signs_in_with_cookies(client):
    resp = client.post(
        f"{WEB}/register", json={"email": "new@example.org", "password": "Str0ng-Pass!2026", "tenant_name": "新水务"}
    )
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["tenant"]["name"] == "新水务" and body["user"]["role"] == "owner" and "refresh_token" not in body
    assert client.post(f"{WEB}/refresh", headers=csrf_header(client)).status_code == 200


def test_register_validation_is_the_json_endpoints(client):
    resp = client.post(f"{WEB}/register", json={"email": "bad", "password": "x", "tenant_name": ""})
    assert resp.status_code == 422 and "email" in resp.get_json()["error"]["fields"]


def test_change_password_keeps_this_session_and_ends_the_others(app, client, member_user):
    other = app.test_client()
    web_login(other, member_user)
    login = web_login(client, member_user).get_json()
    auth = {"Authorization": f"Bearer {login['access_token']}"}
    resp = client.put(
        f"{WEB}/change-password", headers=auth, json={"old_password": PASSWORD, "new_password": "An0ther-Pass!2026"}
    )
    assert resp.status_code == 200, resp.get_json()
    assert "refresh_token" not in resp.get_json() and resp.get_json()["access_token"]
    assert client.post(f"{WEB}/refresh", headers=csrf_header(client)).status_code == 200
    assert other.post(f"{WEB}/refresh", headers=csrf_header(other)).status_code == 401


def test_reset_password_with_a_token_signs_in(client, factory, platform_admin, member_user):
    admin = factory.headers(platform_admin)
    token = client.post(f"/api/admin/users/{member_user.id}/reset-password", headers=admin).get_json()["reset_token"]
    resp = client.post(f"{WEB}/reset-password", json={"token": token, "password": "Brand-New-Pass!2026"})
    assert resp.status_code == 200 and "refresh_token" not in resp.get_json()
    assert client.post(f"{WEB}/refresh", headers=csrf_header(client)).status_code == 200


def test_suspended_tenant_cannot_refresh_and_loses_its_cookies(
    client, factory, platform_admin, member_user, two_tenants
):
    web_login(client, member_user)
    headers = csrf_header(client)
    admin = factory.headers(platform_admin)
    patch = client.patch(
        f"/api/admin/tenants/{two_tenants['a'].id}", headers=admin, json={"status": "suspended", "reason": "unpaid"}
    )
    assert patch.status_code == 200
    resp = client.post(f"{WEB}/refresh", headers=headers)
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "tenant_suspended"
    assert set_cookies(resp)["hn_refresh"].value == ""


def test_web_login_is_rate_limited_like_login(app, client):
    limit = int(app.config["RATELIMIT_LOGIN_ADDRESS"].split()[0])
    codes = [
        client.post(f"{WEB}/login", json={"email": f"nobody{i}@example.org", "password": "x"}).status_code
        for i in range(limit + 1)
    ]
    assert codes[:limit].count(429) == 0 and codes[-1] == 429


def test_failed_json_logins_lock_the_web_login_too(client, member_user):
    for _ in range(5):
        assert client.post("/api/auth/login", json={"email": member_user.email, "password": "wrong"}).status_code == 401
    resp = web_login(client, member_user)
    assert resp.status_code == 429 and resp.get_json()["error"]["code"] == "login_locked"
