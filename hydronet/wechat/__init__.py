"""WeChat official-account helpers: protocol, text rendering, the 5-second-rule delivery, pushes.

Pure functions over explicit arguments; the Flask blueprint (hydronet/blueprints/wechat.py) wires
them to requests, the store and background jobs.
"""

from __future__ import annotations

from hydronet.wechat.plaintext import markdown_to_text, split_utf8
from hydronet.wechat.protocol import (
    AccountConfig,
    BadMessage,
    BadSignature,
    Incoming,
    MessageTooLarge,
    StaleTimestamp,
    UnsafeXML,
    WeChatProtocolError,
    parse_incoming,
    render_reply,
    verify_url,
)

__all__ = [
    "AccountConfig",
    "BadMessage",
    "BadSignature",
    "Incoming",
    "MessageTooLarge",
    "StaleTimestamp",
    "UnsafeXML",
    "WeChatProtocolError",
    "markdown_to_text",
    "parse_incoming",
    "render_reply",
    "split_utf8",
    "verify_url",
]
