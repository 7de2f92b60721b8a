"""WeChat official-account callback protocol: URL check, verified parsing, passive replies.

Plaintext, compatible and safe (AES) modes are handled through wechatpy. Errors map to responses:
`BadSignature` / `StaleTimestamp` → 403; `BadMessage` (incl. `MessageTooLarge`, `UnsafeXML`) →
reply "success" so WeChat neither retries nor shows the user an error.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.messages import BaseMessage
from wechatpy.utils import WeChatSigner

from hydronet.wechat.plaintext import PASSIVE_REPLY_LIMIT, split_utf8, utf8_len

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024  # real callbacks are < 4 KiB even encrypted
MAX_CLOCK_SKEW_S = 300
DeliverMode = Literal["push", "next_message"]
Kind = Literal["text", "voice", "event_subscribe", "event_unsubscribe", "other"]

# A DOCTYPE (the only place ENTITY declarations can live) is legal only in the prolog; expat rejects it
# anywhere else, and xmltodict's disable_entities=True stays as the second wall. Checking just the
# prolog keeps user text such as "<!DOCTYPE html>" inside CDATA acceptable.
_DOCTYPE_IN_PROLOG = re.compile(rb"^(?:\xef\xbb\xbf)?(?:\s|<\?.*?\?>|<!--.*?-->)*<!\s*DOCTYPE", re.I | re.S)
_XML_INVALID_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class WeChatProtocolError(Exception):
    """Base of every error raised while handling a callback."""


class BadSignature(WeChatProtocolError):
    """Signature missing or wrong, or the message is not addressed to this account (→ 403)."""


class StaleTimestamp(WeChatProtocolError):
    """Timestamp further than the allowed skew from now: a replay or a broken clock (→ 403)."""


class BadMessage(WeChatProtocolError):
    """Authentic request whose body cannot be used (→ reply "success")."""


class MessageTooLarge(BadMessage):
    """Body larger than the configured limit."""


class UnsafeXML(BadMessage):
    """Body declares a DOCTYPE or ENTITY, which WeChat never sends (XXE / entity expansion)."""


@dataclass(frozen=True)
class AccountConfig:
    """One official account's credentials and delivery settings."""

    token: str = field(repr=False)
    app_id: str
    app_secret: str = field(repr=False)
    aes_key: str | None = field(default=None, repr=False)
    tenant_slug: str = ""
    tenant_id: Any = None
    verified: bool = False
    deliver_mode: DeliverMode = "next_message"

    def __post_init__(self) -> None:
        if not self.token:
            raise ValueError("WeChat token is required")
        if self.deliver_mode not in ("push", "next_message"):
            raise ValueError(f"deliver_mode must be 'push' or 'next_message', not {self.deliver_mode!r}")
        if not self.aes_key:
            object.__setattr__(self, "aes_key", None)
        elif not _valid_aes_key(self.aes_key):
            raise ValueError("EncodingAESKey must be 43 characters of base64 encoding 32 bytes")

    @property
    def can_push(self) -> bool:
        """True when late answers go out through the customer-service API."""
        return self.verified and self.deliver_mode == "push"

    @property
    def account_key(self) -> str:
        """Namespace for this account's delivery keys (per tenant: an AppID claimed twice never shares keys)."""
        return f"{self.tenant_id}:{self.app_id}" if self.tenant_id else self.app_id


def _valid_aes_key(key: str) -> bool:
    """EncodingAESKey: 43 base64 characters (32 bytes once '=' is appended)."""
    try:
        return len(key) == 43 and len(base64.b64decode(key + "=", validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


@dataclass(frozen=True)
class Incoming:
    """A verified, parsed callback."""

    message: BaseMessage
    kind: Kind
    text: str
    openid: str
    dedupe_key: str
    create_time: int
    encrypted: bool
    raw_type: str  # MsgType, or "event:<Event>" for events — for logs


def sign(token: str, timestamp: str, nonce: str) -> str:
    """WeChat's callback signature: sha1 of the sorted, concatenated token/timestamp/nonce."""
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce)
    return signer.signature


def _check_signature(cfg: AccountConfig, signature: str | None, timestamp: str | None, nonce: str | None) -> None:
    """Constant-time check of the plain `signature` query argument."""
    if not signature or not timestamp or not nonce:
        raise BadSignature("signature, timestamp and nonce are required")
    expected = sign(cfg.token, timestamp, nonce).encode()
    if not hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
        raise BadSignature("signature mismatch")


def verify_url(
    cfg: AccountConfig, signature: str | None, timestamp: str | None, nonce: str | None, echostr: str | None
) -> str:
    """Answer WeChat's server-address check (GET): the echostr when the signature is right."""
    _check_signature(cfg, signature, timestamp, nonce)
    if not echostr:
        raise BadSignature("echostr is required")
    return echostr


def _check_timestamp(timestamp: str, now: float, max_skew_s: float) -> None:
    """Reject timestamps too far from now."""
    try:
        ts = int(timestamp)
    except ValueError:
        raise BadSignature("timestamp is not an integer") from None
    if abs(now - ts) > max_skew_s:
        raise StaleTimestamp(f"timestamp {ts} is {now - ts:+.0f}s from now")


def _check_body(body: bytes, max_body_bytes: int) -> None:
    """Size limit and DOCTYPE/ENTITY refusal before any XML parser sees the body."""
    if len(body) > max_body_bytes:
        raise MessageTooLarge(f"body of {len(body)} bytes exceeds {max_body_bytes}")
    if _DOCTYPE_IN_PROLOG.match(body):
        raise UnsafeXML("DOCTYPE/ENTITY declarations are not accepted")


def parse_incoming(
    cfg: AccountConfig,
    query_args: Mapping[str, str],
    body: bytes,
    now: float,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_skew_s: float = MAX_CLOCK_SKEW_S,
) -> Incoming:
    """Verify and parse a POSTed callback in plaintext, compatible or safe mode."""
    timestamp, nonce = query_args.get("timestamp"), query_args.get("nonce")
    encrypted = (query_args.get("encrypt_type") or "raw").lower() == "aes"
    if encrypted:
        msg_signature = query_args.get("msg_signature")
        if not msg_signature or not timestamp or not nonce:
            raise BadSignature("msg_signature, timestamp and nonce are required in safe mode")
        if cfg.aes_key is None:
            raise BadSignature("encrypted callback but no EncodingAESKey is configured")
        if query_args.get("signature"):
            _check_signature(cfg, query_args.get("signature"), timestamp, nonce)
    else:
        _check_signature(cfg, query_args.get("signature"), timestamp, nonce)
    assert timestamp is not None and nonce is not None
    _check_timestamp(timestamp, now, max_skew_s)
    _check_body(body, max_body_bytes)
    xml: bytes | str = body
    if encrypted:
        xml = _decrypt(cfg, body, query_args["msg_signature"], timestamp, nonce)
        _check_body(xml.encode("utf-8"), max_body_bytes)
    try:
        message = parse_message(xml)
        if message is None:
            raise ValueError("empty body")
        return _incoming(message, encrypted)
    except WeChatProtocolError:
        raise
    except Exception as exc:  # expat, KeyError, TypeError, UnicodeDecodeError…: all mean unusable XML
        raise BadMessage(f"unparseable message: {type(exc).__name__}: {exc}") from exc


def _decrypt(cfg: AccountConfig, body: bytes, msg_signature: str, timestamp: str, nonce: str) -> str:
    """Check msg_signature over the Encrypt element and decrypt it (safe and compatible modes)."""
    crypto = WeChatCrypto(cfg.token, cfg.aes_key, cfg.app_id)
    try:
        return crypto.decrypt_message(body, msg_signature, timestamp, nonce)
    except InvalidSignatureException:
        raise BadSignature("msg_signature mismatch") from None
    except InvalidAppIdException:
        raise BadSignature("message encrypted for another AppID") from None
    except Exception as exc:  # missing <Encrypt>, bad base64/padding (wrong key), bad XML
        raise BadMessage(f"cannot decrypt message: {type(exc).__name__}") from exc


def _incoming(message: BaseMessage, encrypted: bool) -> Incoming:
    """Classify a parsed wechatpy message and derive its dedupe key."""
    openid = message.source
    if not openid:
        raise BadMessage("FromUserName missing")
    create_time = int(message.time)
    kind: Kind = "other"
    text = ""
    raw_type = message.type
    if message.type == "text":
        text = (message.content or "").strip()
        kind = "text" if text else "other"
    elif message.type == "voice":
        text = (message.recognition or "").strip()
        kind = "voice" if text else "other"
    elif message.type == "event":
        event = (getattr(message, "event", "") or "").lower()
        raw_type = f"event:{event}"
        if event in ("subscribe", "subscribe_scan"):
            kind = "event_subscribe"
        elif event == "unsubscribe":
            kind = "event_unsubscribe"
    msg_id = message.id  # 0 when absent (events)
    dedupe_key = f"msg:{msg_id}" if msg_id else f"evt:{openid}:{create_time}"
    return Incoming(message, kind, text, openid, dedupe_key, create_time, encrypted, raw_type)


def render_reply(
    cfg: AccountConfig, incoming: Incoming, text: str | None, *, now: float | None = None, nonce: str | None = None
) -> str:
    """Passive-reply body: text XML (encrypted when the request was), or "success" for no reply."""
    if not text:
        return "success"
    text = _XML_INVALID_CHARS.sub("", text).replace("]]>", "]] >")
    if utf8_len(text) > PASSIVE_REPLY_LIMIT:
        log.warning("passive reply of %d bytes truncated; split answers before replying", utf8_len(text))
        text = split_utf8(text, PASSIVE_REPLY_LIMIT)[0]
    xml = create_reply(text, message=incoming.message, render=True)
    if not incoming.encrypted:
        return xml
    crypto = WeChatCrypto(cfg.token, cfg.aes_key, cfg.app_id)
    timestamp = str(int(now if now is not None else time.time()))
    return crypto.encrypt_message(xml, nonce or secrets.token_hex(8), timestamp)
