"""LLM failures as API errors, and the mapping from DashScope error codes.

Client-facing messages are fixed texts: the upstream code and message (with any
key redacted) go to the log at WARNING and stay on the exception's attributes.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from hydronet.kernel.errors import ApiError

log = logging.getLogger(__name__)

_KEY_LIKE = re.compile(r"sk-[A-Za-z0-9_\-]{6,}")


class LLMError(ApiError):
    """Base of every model-call failure; ``retryable`` says a new attempt may succeed."""

    status, code, message = 502, "llm_unavailable", "The AI assistant is unavailable right now"

    def __init__(
        self,
        message: str | None = None,
        *,
        retryable: bool = False,
        upstream_code: str | None = None,
        upstream_status: int | None = None,
        request_id: str | None = None,
        retry_hint_s: float | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message, headers=headers, **extra)
        self.retryable = retryable
        self.upstream_code = upstream_code
        self.upstream_status = upstream_status
        self.request_id = request_id
        #: the upstream's own Retry-After, if it sent one (used to pace our retries)
        self.retry_hint_s = retry_hint_s


class LLMUnavailable(LLMError):
    """502: bad key, arrears, misconfiguration, network failure, unexpected upstream error."""

    status, code, message = 502, "llm_unavailable", "The AI assistant is unavailable right now"


class LLMBusy(LLMError):
    """503 with ``Retry-After``: the provider is throttling us."""

    status, code, message = 503, "llm_busy", "The AI assistant is busy; please retry shortly"

    def __init__(self, message: str | None = None, *, retry_after: int = 5, **kwargs: Any) -> None:
        retry_after = max(1, int(retry_after))
        super().__init__(
            message,
            headers={"Retry-After": str(retry_after)},
            retry_after=retry_after,
            **kwargs,
        )
        self.retry_after = retry_after


class ContentRejected(LLMError):
    """400: the provider's content inspection refused the conversation."""

    status, code, message = 400, "content_rejected", "The message was rejected by the AI provider's content inspection"


class LLMTimeout(LLMError):
    """504: the provider did not answer (or went silent) within the time limits."""

    status, code, message = 504, "llm_timeout", "The AI assistant took too long to answer"


def redact(text: object, secret: str | None = None) -> str:
    """``text`` as a string with ``secret`` and anything key-shaped masked."""
    out = str(text or "")
    if secret:
        out = out.replace(secret, "***")
    return _KEY_LIKE.sub("sk-***", out)


def upstream_error(
    status: int | None,
    code: str | None,
    message: object,
    *,
    request_id: str | None = None,
    retry_after: int | None = None,
    api_key: str | None = None,
    default_retry_after: int = 5,
) -> LLMError:
    """Map a DashScope error (HTTP status + code) to an LLMError and log it for operators."""
    code = code or ""
    status = int(status or 0)
    meta: dict[str, Any] = {
        "upstream_code": code or None,
        "upstream_status": status or None,
        "request_id": request_id,
        "retry_hint_s": retry_after,
    }
    err: LLMError
    if code == "DataInspectionFailed" or code.startswith("DataInspection"):
        err = ContentRejected(**meta)
    elif code.startswith("Throttling") or status == 429:
        err = LLMBusy(retry_after=retry_after or default_retry_after, retryable=True, **meta)
    elif code == "InvalidApiKey" or status in (401, 403):
        err = LLMUnavailable(**meta)
    elif code.startswith("InternalError") or status >= 500:
        err = LLMUnavailable(retryable=True, **meta)
    else:  # Arrearage, InvalidParameter, model not found, anything unexpected
        err = LLMUnavailable(**meta)
    log.warning(
        "dashscope error status=%s code=%s request_id=%s message=%s -> %s",
        status or "-",
        code or "-",
        request_id or "-",
        redact(message, api_key)[:500],
        err.code,
    )
    return err


def transport_error(exc: BaseException, *, timeout: bool, api_key: str | None = None) -> LLMError:
    """Map a network-level failure to LLMTimeout or a retryable LLMUnavailable, and log it."""
    log.warning("dashscope transport failure %s: %s", type(exc).__name__, redact(exc, api_key)[:500])
    if timeout:
        return LLMTimeout()
    return LLMUnavailable(retryable=True)
