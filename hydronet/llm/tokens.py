"""Counting Qwen tokens locally: dashscope's bundled tokenizer, or an estimate.

The tokenizer ships inside the dashscope wheel (``resources/qwen.tiktoken``) and
needs no network.  If it cannot be loaded, :func:`estimate_tokens` counts one
token per CJK character and one per four other characters, which is close for
Qwen on Chinese and English text.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
import threading
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef\uac00-\ud7af]")
#: fixed per-message cost of the chat template (role markers, separators)
MESSAGE_OVERHEAD = 4

_lock = threading.Lock()
_tokenizer: Any = None
_loaded = False


def _get_tokenizer() -> Any:
    """The cached dashscope tokenizer, or None when it cannot be loaded."""
    global _tokenizer, _loaded
    if not _loaded:
        with _lock:
            if not _loaded:
                try:
                    import dashscope

                    _tokenizer = dashscope.get_tokenizer("qwen-turbo")
                except Exception as exc:  # missing resource, broken install
                    log.warning("Qwen tokenizer unavailable, estimating tokens: %s", exc)
                    _tokenizer = None
                _loaded = True
    return _tokenizer


def warm_up() -> bool:
    """Load the tokenizer now (about 0.3 s of CPU) instead of during the first request."""
    return _get_tokenizer() is not None


def has_cjk(text: str) -> bool:
    """True when ``text`` contains Chinese, Japanese or Korean characters."""
    return bool(_CJK.search(text or ""))


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate: CJK characters count one, other characters a quarter."""
    if not text:
        return 0
    cjk = len(_CJK.findall(text))
    return cjk + math.ceil((len(text) - cjk) / 4)


def count_tokens(text: str) -> int:
    """Qwen tokens in ``text`` (local tokenizer; estimate as fallback)."""
    if not text:
        return 0
    return _count_cached(text) if len(text) <= 20_000 else _count(text)


@functools.lru_cache(maxsize=4096)
def _count_cached(text: str) -> int:
    # a conversation's history is counted again on every turn: its messages hit this cache
    return _count(text)


def _count(text: str) -> int:
    tokenizer = _get_tokenizer()
    if tokenizer is None:
        return estimate_tokens(text)
    try:
        return len(tokenizer.encode(text))
    except Exception:  # pragma: no cover - defensive
        return estimate_tokens(text)


def message_text(message: dict[str, Any]) -> str:
    """Everything in a chat message that the model reads, as one string."""
    content = message.get("content")
    if isinstance(content, list):  # multimodal parts: count the text ones
        content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    parts = [str(content or "")]
    for call in message.get("tool_calls") or []:
        fn = call.get("function") or {}
        parts.append(str(fn.get("name", "")))
        parts.append(str(fn.get("arguments", "")))
    return "".join(parts)


def count_message_tokens(messages: Iterable[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> int:
    """Approximate prompt tokens of a message list plus tool schemas."""
    total = sum(count_tokens(message_text(m)) + MESSAGE_OVERHEAD for m in messages)
    if tools:
        total += count_tokens(json.dumps(tools, ensure_ascii=False))
    return total
