"""What authentication remembers during one request — the only owner of these `g` keys.

An authenticated request reads the same few things several times: the bearer
credential, its verified claims (the rate limiter keys limits by them before
the view runs), the token's revocation keys and the caller's cached user and
tenant (one Redis MGET), and the rate-limit windows behind the X-RateLimit-*
headers.  They are kept here for the rest of the request and forgotten at its
teardown, so no value leaks into the next request.

`want` lets the first Redis round trip of a request (the rate limiter's hit)
carry the keys authentication will read next; `fetch` then finds them known.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Flask, g, has_request_context, request
from flask_jwt_extended import decode_token

from hydronet.kernel.store import get_store

_BEARER = "_auth_bearer"
_CLAIMS = "_auth_claims"
_FETCHED = "_auth_fetched"
_STORE_DOWN = "_auth_store_down"  # the exception of a failed read, re-raised for the rest of the request
_WANTED = "_auth_wanted"  # keys announced for this request, not fetched yet
_WINDOWS = "_auth_ratelimit_windows"
_KEYS = (_BEARER, _CLAIMS, _FETCHED, _STORE_DOWN, _WANTED, _WINDOWS, "principal")


def init_app(app: Flask) -> None:
    """Forget every request's authentication state when it ends."""
    app.teardown_request(forget)


def forget(_exc: BaseException | None = None) -> None:
    """End of request: nothing remembered for it is reused by the next one."""
    for key in _KEYS:
        g.pop(key, None)


# --- the credential ------------------------------------------------------------


def bearer_token() -> str | None:
    """The credential of ``Authorization: Bearer <credential>``, or None."""
    if _BEARER not in g:
        header = request.headers.get("Authorization", "")
        g.setdefault(_BEARER, header[7:].strip() or None if header[:7].lower() == "bearer " else None)
    return g.get(_BEARER)


def token_claims(is_api_key: bool) -> dict[str, Any] | None:
    """The verified claims of the bearer JWT (None without one, for an API key or an invalid token)."""
    if _CLAIMS not in g:
        token = bearer_token()
        claims = None
        if token and not is_api_key:
            try:
                claims = decode_token(token)
            except Exception:
                claims = None  # the view's own verification answers with the precise error
        g.setdefault(_CLAIMS, claims)
    return g.get(_CLAIMS)


# --- shared-store reads of this request -------------------------------------------


def fetch(keys: Sequence[str]) -> dict[str, str | None]:
    """Values of ``keys`` in one round trip, remembered for the rest of the request.

    Outside a request nothing is remembered.  Once the store failed in this
    request, later reads fail at once instead of waiting for more timeouts.
    """
    if not has_request_context():
        return dict(zip(keys, get_store().mget(list(keys)), strict=True))
    failed = g.get(_STORE_DOWN)
    if failed is not None:
        raise failed
    known = g.setdefault(_FETCHED, {})
    missing = [k for k in keys if k not in known]
    if missing:
        try:
            known.update(zip(missing, get_store().mget(missing), strict=True))
        except Exception as exc:
            g.setdefault(_STORE_DOWN, exc)
            raise
    return {k: known[k] for k in keys}


def known(key: str) -> str | None:
    """A value fetched earlier in this request (None when not fetched)."""
    return (g.get(_FETCHED) or {}).get(key) if has_request_context() else None


def overwrite(keys: Sequence[str], value: str) -> None:
    """Record that ``keys`` changed during this request (e.g. tombstoned by a commit)."""
    if has_request_context() and g.get(_FETCHED):
        for key in keys:
            g.get(_FETCHED)[key] = value


def store_failed() -> bool:
    """True when a shared-store read already failed in this request."""
    return has_request_context() and g.get(_STORE_DOWN) is not None


def want(keys: Sequence[str]) -> None:
    """Announce keys this request will read, so that a round trip made anyway can bring them."""
    if not has_request_context():
        return
    fetched = g.get(_FETCHED) or {}
    wanted = g.setdefault(_WANTED, [])
    wanted.extend(k for k in keys if k not in fetched and k not in wanted)


def take_wanted() -> list[str]:
    """The announced keys not fetched yet (and forget the announcement)."""
    return g.pop(_WANTED, []) if has_request_context() else []


def remember(keys: Sequence[str], values: Sequence[str | None]) -> None:
    """Values fetched along with another round trip, for `fetch` to read."""
    g.setdefault(_FETCHED, {}).update(zip(keys, values, strict=True))


# --- rate-limit windows ------------------------------------------------------------


def remember_window(key: tuple, window: tuple[float, int]) -> None:
    """A rate-limit window read along with its hit, for the headers written later."""
    g.setdefault(_WINDOWS, {})[key] = window


def take_window(key: tuple) -> tuple[float, int] | None:
    """The window remembered for ``key`` in this request, if any."""
    return g.get(_WINDOWS, {}).pop(key, None) if has_request_context() else None


# --- the caller --------------------------------------------------------------------


def set_principal(principal: Any) -> None:
    """The authenticated caller of this request (auth.principal.authenticate)."""
    g.principal = principal


def principal() -> Any:
    """The authenticated caller, or None before authentication."""
    return g.get("principal")
