"""/api/wechat: WeChat official-account callbacks (signature-authenticated, never an error page).

`/api/wechat` serves the account configured by WECHAT_* environment variables for the tenant named by
WECHAT_TENANT_SLUG; `/api/wechat/<tenant_slug>` serves the account a tenant admin configured.
"""

from __future__ import annotations

import time

from flask import Blueprint, Response, request

from hydronet.auth.actor import request_meta
from hydronet.kernel.contracts import contract
from hydronet.wechat import channel as wechat_channel
from hydronet.wechat.admin_routes import bp as admin_bp  # registered next to this one (/api/tenant/wechat)
from hydronet.wechat.channel import CallbackReply
from hydronet.wechat.protocol import MAX_BODY_BYTES
from hydronet.wechat.schemas import RECEIVE, VERIFY

bp = Blueprint("wechat", __name__, url_prefix="/api/wechat")
TOO_LARGE = CallbackReply("payload too large", 413)

__all__ = ["admin_bp", "bp"]


def _send(reply: CallbackReply) -> Response:
    """The callback reply as an HTTP response."""
    return Response(reply.body, status=reply.status, content_type=reply.content_type)


def _verify(slug: str | None) -> Response:
    """Answer WeChat's URL check."""
    return _send(wechat_channel.verify(slug, request.args.to_dict()))


def _receive(slug: str | None) -> Response:
    """Handle a message or event; WeChat's 5-second clock is read first."""
    started = time.monotonic()
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return _send(TOO_LARGE)
    body = request.stream.read(MAX_BODY_BYTES + 1)
    return _send(wechat_channel.receive(slug, request.args.to_dict(), body, request_meta(), started))


@bp.get("")
@contract(**VERIFY)
def verify_env():
    """URL check of the environment-configured account."""
    return _verify(None)


@bp.post("")
@contract(**RECEIVE)
def receive_env():
    """Message to the environment-configured account."""
    return _receive(None)


@bp.get("/<tenant_slug>")
@contract(**VERIFY)
def verify_tenant(tenant_slug: str):
    """URL check of a tenant's account."""
    return _verify(tenant_slug)


@bp.post("/<tenant_slug>")
@contract(**RECEIVE)
def receive_tenant(tenant_slug: str):
    """Message to a tenant's account."""
    return _receive(tenant_slug)
