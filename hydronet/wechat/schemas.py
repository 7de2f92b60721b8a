"""Contracts of /api/tenant/wechat (account, followers, binding codes) and of the WeChat callbacks."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, WithJsonSchema

from hydronet.kernel.contracts import Answer, Body, Id, Query, Resource, Text, When
from hydronet.wechat.accounts import APP_ID_RE, DELIVER_MODES, TOKEN_RE


class WechatConfig(Resource):
    configured: bool
    callback_path: str
    callback_url: str
    app_id: str | None = None
    verified: bool | None = None
    deliver_mode: str | None = None
    enabled: bool | None = None
    has_aes_key: bool | None = None
    can_push: bool | None = None
    created_at: When | None = None


class FollowerUser(Resource):
    id: Id
    email: str
    name: str | None


class WechatFollower(Resource):
    id: Id
    openid: str
    subscribed: bool
    messages: int
    bound: bool
    conversation_id: Id | None
    user: FollowerUser | None
    created_at: When | None


# Formats are checked by wechat.accounts (with its own messages); the patterns document them.
class AccountBody(Body):
    token: Annotated[str, Text(32, pattern=TOKEN_RE.pattern, description="as set in the WeChat console")] | None = None
    app_id: Annotated[str, Text(64, pattern=APP_ID_RE.pattern)] | None = None
    app_secret: Annotated[str, Text(128)] | None = None
    aes_key: Annotated[str, Text(64, description="EncodingAESKey (43 characters); null/'' removes it")] | None = None
    verified: bool | None = None
    deliver_mode: Annotated[str, Text(20, enum=list(DELIVER_MODES))] | None = None
    enabled: bool | None = None


class WechatAnswer(Answer):
    wechat: WechatConfig


class Followers(Answer):
    followers: list[WechatFollower]


class BindCode(Answer):
    code: str
    expires_at: When | None
    expires_in_s: int
    send: str = Field(description="the text to send to the official account")


# --- the callbacks: WeChat's signed query string, checked by the channel (plain-text refusals) --------


class SignedQuery(Query):
    signature: str | None = Field(None, description="sha1 of the sorted token, timestamp and nonce")
    timestamp: str | None = None
    nonce: str | None = None
    encrypt_type: Annotated[
        str | None, WithJsonSchema({"type": "string", "enum": ["raw", "aes"]}), Field(description="aes in safe mode")
    ] = None
    msg_signature: str | None = Field(None, description="signature over the encrypted body (safe mode)")


class VerifyQuery(SignedQuery):
    echostr: str | None = Field(None, description="echoed back when the signature is right")


PLAIN = {"type": "string"}
CALLBACK_NOTE = (
    "Signature-authenticated by WeChat (no bearer token). Answers are plain text (`success`, "
    "`forbidden`) or an XML passive reply, never the JSON error shape — except 404 when no account "
    "is configured here."
)
VERIFY = {
    "ok": {200: PLAIN},
    "ok_media": "text/plain",
    "query": VerifyQuery,
    "errors": (403, 404),
    "text_errors": (403,),
    "description": CALLBACK_NOTE,
    "parse_input": False,
}
RECEIVE = {
    "ok": {200: PLAIN},
    "ok_media": "text/plain",
    "query": SignedQuery,
    "errors": (403, 404, 413),
    "text_errors": (403, 413),
    "description": CALLBACK_NOTE,
    "parse_input": False,
    "body_media": {"application/xml": PLAIN, "text/xml": PLAIN},
    "also": {200: {"application/xml": PLAIN}},
}
