"""Contracts of /api/auth and /api/auth/web: request bodies and the answers' users, tenants and sessions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import model_validator

from hydronet.auth.passwords import MAX_LENGTH, MIN_LENGTH
from hydronet.kernel.contracts import Answer, Body, Email, Id, Object, OneOf, Resource, Secret, Text, When
from hydronet.models import ROLES

NewPassword = Annotated[
    str,
    Secret(
        {"minLength": MIN_LENGTH, "maxLength": MAX_LENGTH},  # auth.passwords checks
        description="not a common password, not the email",
    ),
]
Password = Annotated[str, Text(1024, min_len=1, strip=False)]


# --- resources ---------------------------------------------------------------------------------------


class Tenant(Resource):
    id: Id
    name: str
    slug: str
    plan: str
    status: str
    status_reason: str | None
    settings: Object
    quota_overrides: Object
    created_at: When | None
    updated_at: When | None


class User(Resource):
    id: Id
    email: str
    name: str | None
    role: Annotated[str, OneOf(ROLES)]
    tenant_id: Id
    is_active: bool
    is_platform_admin: bool
    last_login_at: When | None
    created_at: When | None
    password_change_required: bool


class ApiKey(Resource):
    id: Id
    name: str
    prefix: str
    scopes: list[str]
    expires_at: When | None
    last_used_at: When | None
    revoked_at: When | None
    created_at: When | None
    user_id: Id


# --- request bodies ----------------------------------------------------------------------------------


class RegisterBody(Body):
    email: Email
    password: NewPassword
    tenant_name: Annotated[str, Text(120, min_len=1)]
    name: Annotated[str, Text(120)] | None = None


class LoginBody(Body):
    email: Annotated[str, Text(254, min_len=1)]
    password: Password


class RefreshTokenBody(Body):
    refresh_token: str | None = None


class ChangePasswordBody(Body):
    old_password: Password
    new_password: NewPassword


class ResetPasswordBody(Body):
    token: Annotated[str, Text(200, min_len=1)]
    password: NewPassword

    @model_validator(mode="before")
    @classmethod
    def _new_password_alias(cls, data: Any) -> Any:
        """The invitation page sends ``new_password``; an empty ``password`` falls back to it."""
        if isinstance(data, dict) and not data.get("password") and data.get("new_password"):
            return {**data, "password": data["new_password"]}
        return data


# --- answers -----------------------------------------------------------------------------------------


class Session(Answer):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    user: User
    tenant: Tenant


class LoginAnswer(Session):
    password_change_required: bool


class Notice(Answer):
    message: str


class Me(Answer):
    user: User
    tenant: Tenant
    permissions: list[str]


class PasswordChanged(Answer):
    message: str
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"]
    expires_in: int


class _WebSession(Answer):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    csrf_token: str


class WebSession(_WebSession):
    user: User
    tenant: Tenant


class WebLoginAnswer(WebSession):
    password_change_required: bool


class WebPasswordChanged(_WebSession):
    message: str


CSRF_HEADER_PARAMETER = {
    "name": "X-CSRF-Token",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "the csrf_token of the last session answer (double-submit with the hn_csrf cookie)",
}
