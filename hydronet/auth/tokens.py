"""JWT issuing and revocation: short access tokens, rotating refresh tokens.

Revocation state lives in the shared store (Redis in production), so a logout
on one worker or server is seen by all:
- ``jwt:revoked:<jti>``  a single token revoked (logout, rotated refresh token)
- ``jwt:family:<fam>``    a whole refresh family revoked (reuse detected, logout)
- the user's ``token_version`` claim must match the database (password change,
  deactivation and "log out everywhere" bump it).
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token

from hydronet.auth import state
from hydronet.auth.cache import snapshot_keys
from hydronet.kernel.errors import Unauthorized
from hydronet.kernel.store import get_store
from hydronet.models import User

REVOKED = "jwt:revoked:"
ROTATED = "jwt:rotated:"
# A refresh token presented again within this many seconds of its rotation is a
# lost answer (a tab navigated away mid-refresh), not a theft: it rotates again.
ROTATION_GRACE_S = 15
FAMILY = "jwt:family:"


def issue_tokens(user: User, *, fresh: bool, family: str | None = None) -> dict[str, Any]:
    """A new access + refresh pair for ``user`` (a new family unless rotating)."""
    family = family or uuid.uuid4().hex
    refresh_jti = uuid.uuid4().hex
    claims = {"tid": str(user.tenant_id), "tv": user.token_version, "fam": family}
    refresh = create_refresh_token(
        identity=str(user.id),
        additional_claims={**claims, "jti": refresh_jti},
        expires_delta=timedelta(days=current_app.config["JWT_REFRESH_TOKEN_DAYS"]),
    )
    access_minutes = current_app.config["JWT_ACCESS_TOKEN_MINUTES"]
    access = create_access_token(
        identity=str(user.id),
        fresh=timedelta(minutes=access_minutes) if fresh else False,
        additional_claims={**claims, "rjti": refresh_jti},
        expires_delta=timedelta(minutes=access_minutes),
    )
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": access_minutes * 60,
    }


def _ttl(exp: int | float | None) -> float:
    return max(1.0, float(exp or 0) - time.time()) if exp else 86400.0 * 31


def revoke_jti(jti: str, exp: int | float | None) -> None:
    """Revoke one token until it would have expired anyway."""
    get_store().set(REVOKED + jti, "1", ttl=_ttl(exp))


def revoke_family(family: str) -> None:
    """Revoke every refresh (and derived access) token of a sign-in session."""
    days = current_app.config["JWT_REFRESH_TOKEN_DAYS"]
    get_store().set(FAMILY + family, "1", ttl=days * 86400)


def revocation_keys(payload: dict[str, Any]) -> list[str]:
    """The store keys whose presence revokes this token."""
    keys = [REVOKED + payload["jti"], FAMILY + payload.get("fam", "-")]
    if payload.get("rjti"):
        keys.append(REVOKED + payload["rjti"])
    if payload.get("type") == "refresh":
        keys.append(ROTATED + payload["jti"])
    return keys


def prefetch(payload: dict[str, Any]) -> None:
    """Fetch, in one round trip, everything authenticating this token will read.

    That is its revocation keys and its user's and tenant's cached snapshots;
    the first reader of a request (often the rate limiter) pays the trip.
    """
    state.fetch(_auth_keys(payload))


def announce(payload: dict[str, Any]) -> None:
    """Like `prefetch`, but without a round trip of its own: the next one made brings the keys."""
    state.want(_auth_keys(payload))


def _auth_keys(payload: dict[str, Any]) -> list[str]:
    """The token's revocation keys and the cached snapshots of its user and tenant."""
    return revocation_keys(payload) + snapshot_keys(payload)


def is_revoked(payload: dict[str, Any]) -> bool:
    """True when the token, its refresh parent or its family was revoked."""
    values = state.fetch(_auth_keys(payload))
    if payload.get("type") == "refresh":
        rotated_at = values[ROTATED + payload["jti"]]
        if rotated_at is not None:
            if _within_grace(rotated_at):
                return any(values[key] is not None for key in _revocations(payload))
            if payload.get("fam"):
                # A refresh token presented after it was rotated: stolen or replayed.
                revoke_family(payload["fam"])
            return True
    return any(values[key] is not None for key in revocation_keys(payload))


def _revocations(payload: dict[str, Any]) -> list[str]:
    """The keys that revoke a token outright (its rotation mark aside)."""
    return [key for key in revocation_keys(payload) if not key.startswith(ROTATED)]


def _within_grace(rotated_at: str) -> bool:
    try:
        return time.time() - float(rotated_at) <= ROTATION_GRACE_S
    except ValueError:
        return False


def rotate_refresh(payload: dict[str, Any]) -> bool:
    """Mark a refresh token used; False (and the family revoked) when it was used before."""
    store = get_store()
    key = ROTATED + payload["jti"]
    if store.set(key, str(time.time()), ttl=_ttl(payload.get("exp")), nx=True):
        return True
    if _within_grace(store.get(key) or ""):
        return True
    revoke_family(payload["fam"])
    return False


def verified_refresh_payload(token: str) -> dict[str, Any]:
    """Decode and check a refresh token sent in a body; 401 when unusable."""
    try:
        payload = decode_token(token)
    except Exception:
        raise Unauthorized("The refresh token is invalid or expired", code="invalid_token") from None
    if payload.get("type") != "refresh":
        raise Unauthorized("A refresh token is required", code="invalid_token")
    if is_revoked(payload):
        raise Unauthorized("The refresh token has been revoked", code="token_revoked")
    return payload


def decode_refresh_token(token: str) -> dict[str, Any] | None:
    """Decode a refresh token given in a body (for logout); None when invalid."""
    try:
        payload = decode_token(token, allow_expired=True)
    except Exception:
        return None
    return payload if payload.get("type") == "refresh" else None
