"""Qwen through the dashscope SDK: streaming, error mapping, retries and timeouts.

Facts from the SDK 2.0.2 source this module relies on:

* ``Generation.call`` never raises for API errors; every response has
  ``status_code``/``code``/``message``.  Mid-stream ``event:error`` chunks come
  back with ``status_code`` 400 (the SDK only reads ``status:`` lines), so the
  ``code`` decides the mapping.
* Per-call keyword arguments ``base_address`` (overrides
  ``dashscope.base_http_api_url``, which the SDK read from
  ``DASHSCOPE_HTTP_BASE_URL`` at import), ``request_timeout`` (handed to
  ``requests`` unchanged, so a ``(connect, read)`` tuple works; in a stream the
  read timeout bounds the silence between chunks) and ``session``.
* The stream is lazy: the HTTP request goes out on the first ``next()``.
* A read timeout while iterating surfaces as ``requests.ConnectionError``
  wrapping urllib3's ``ReadTimeoutError``.
* Every request builds a User-Agent with ``platform.processor()``, which forks
  ``uname -p`` until the result is cached; under gevent a burst of first calls
  would fork once per greenlet, so the constructor warms that cache.
"""

from __future__ import annotations

import email.utils
import logging
import os
import platform
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import dashscope
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError

from hydronet.llm.assembly import CompletionAssembler
from hydronet.llm.base import Completion, LLMEvent, StreamingProvider, TextDelta
from hydronet.llm.errors import LLMError, LLMTimeout, LLMUnavailable, transport_error, upstream_error

log = logging.getLogger(__name__)


class QwenProvider(StreamingProvider):
    """Alibaba Qwen (DashScope) chat completions with the key passed per call."""

    name = "qwen"

    def __init__(
        self,
        base_url: str | None = None,
        connect_timeout_s: float = 10.0,
        read_timeout_s: float = 60.0,
        total_timeout_s: float = 300.0,
        max_retries: int = 2,
        backoff_base_s: float = 0.5,
        *,
        retry_after_s: int = 5,
        max_retry_wait_s: float = 10.0,
        pool_size: int = 1024,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = base_url or None
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.total_timeout_s = total_timeout_s
        self.max_retries = max(0, max_retries)
        self.backoff_base_s = backoff_base_s
        self.retry_after_s = retry_after_s
        self.max_retry_wait_s = max_retry_wait_s
        self.pool_size = pool_size
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._session: requests.Session | None = None
        self._session_lock = threading.Lock()
        platform.platform()  # fills platform's uname cache once (see module docstring)

    # -- public API -------------------------------------------------------

    def stream(
        self,
        *,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        api_key: str | None,
    ) -> Iterator[LLMEvent]:
        """Yield TextDelta per chunk and a final Completion; retry only before the first delta."""
        key = self._require_key(api_key)
        deadline = time.monotonic() + self.total_timeout_s
        attempt = 0
        while True:
            assembler = CompletionAssembler(model)
            emitted = False
            try:
                responses = self._call(model, messages, tools, key, stream=True, deadline=deadline)
                try:
                    for rsp in responses:
                        self._raise_if_failed(rsp, key)
                        text = assembler.feed(rsp.output, rsp.usage, rsp.request_id)
                        if text:
                            emitted = True
                            yield TextDelta(text)
                        if time.monotonic() > deadline:
                            log.warning("dashscope stream exceeded total timeout of %ss", self.total_timeout_s)
                            raise LLMTimeout()
                finally:
                    responses.close()
            except LLMError as err:
                if emitted or not self._wait_for_retry(err, attempt, deadline):
                    raise
            except Exception as exc:
                mapped = self._from_exception(exc, key)
                if emitted or not self._wait_for_retry(mapped, attempt, deadline):
                    raise mapped from None
            else:
                yield assembler.completion(messages, tools)
                return
            attempt += 1

    def complete(
        self,
        *,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        api_key: str | None = None,
    ) -> Completion:
        """One non-streaming call (``stream=False``) with the same retries and error mapping."""
        key = self._require_key(api_key)
        deadline = time.monotonic() + self.total_timeout_s
        attempt = 0
        while True:
            try:
                rsp = self._call(model, messages, tools, key, stream=False, deadline=deadline)
                self._raise_if_failed(rsp, key)
                assembler = CompletionAssembler(model)
                assembler.feed(rsp.output, rsp.usage, rsp.request_id)
                return assembler.completion(messages, tools)
            except LLMError as err:
                if not self._wait_for_retry(err, attempt, deadline):
                    raise
            except Exception as exc:
                mapped = self._from_exception(exc, key)
                if not self._wait_for_retry(mapped, attempt, deadline):
                    raise mapped from None
            attempt += 1

    # -- internals --------------------------------------------------------

    def _require_key(self, api_key: str | None) -> str:
        """The key for this call; without one the SDK would fall back to env/files, so refuse."""
        if not api_key:
            log.warning("dashscope call attempted without an API key")
            raise LLMUnavailable()
        return api_key

    def _call(
        self,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        key: str,
        *,
        stream: bool,
        deadline: float,
    ) -> Any:
        """Invoke the SDK with per-call key, base URL, timeouts and pooled session."""
        remaining = max(0.1, deadline - time.monotonic())
        read_timeout = min(self.read_timeout_s, remaining) if stream else remaining
        kwargs: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "api_key": key,
            "result_format": "message",
            "stream": stream,
            "request_timeout": (self.connect_timeout_s, read_timeout),
            "session": self._get_session(),
        }
        if stream:
            kwargs["incremental_output"] = True
        if tools:
            kwargs["tools"] = tools
        if self.base_url:
            kwargs["base_address"] = self.base_url
        return dashscope.Generation.call(**kwargs)

    def _get_session(self) -> requests.Session:
        """A lazily created session whose pool fits many concurrent streams.

        Each open stream holds one upstream connection, so the pool must hold as
        many as a worker serves streams (gunicorn's worker_connections): with a
        smaller pool, urllib3 opens, discards and logs a connection per answer
        beyond it.
        """
        if self._session is None:
            with self._session_lock:
                if self._session is None:
                    session = requests.Session()
                    # requests re-reads proxy variables, CA-bundle variables and ~/.netrc on
                    # every call while trust_env is on (a tenth of a chat turn's CPU); the
                    # upstream is fixed, so read the environment once for it instead.
                    session.trust_env = False
                    url = self.base_url or dashscope.base_http_api_url
                    session.proxies = requests.utils.get_environ_proxies(url)
                    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
                    if bundle:
                        session.verify = bundle
                    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=self.pool_size)
                    session.mount("http://", adapter)
                    session.mount("https://", adapter)
                    self._session = session
        return self._session

    def close(self) -> None:
        """Release pooled connections."""
        with self._session_lock:
            if self._session is not None:
                self._session.close()
                self._session = None

    def _raise_if_failed(self, rsp: Any, key: str) -> None:
        """Raise the mapped LLMError when a response (or stream chunk) is an error."""
        if int(rsp.status_code) == 200:
            return
        raise upstream_error(
            rsp.status_code,
            rsp.code,
            rsp.message,
            request_id=rsp.request_id or None,
            retry_after=_retry_after(rsp.headers),
            api_key=key,
            default_retry_after=self.retry_after_s,
        )

    def _from_exception(self, exc: Exception, key: str) -> LLMError:
        """Map an exception raised by the SDK or the transport."""
        if isinstance(exc, requests.RequestException):
            return transport_error(exc, timeout=_is_read_timeout(exc), api_key=key)
        log.warning("unexpected dashscope SDK failure: %s", type(exc).__name__, exc_info=True)
        return LLMUnavailable()

    def _wait_for_retry(self, err: LLMError, attempt: int, deadline: float) -> bool:
        """Sleep before another attempt and return True, or return False when we must give up."""
        if not err.retryable or attempt >= self.max_retries:
            return False
        delay = self.backoff_base_s * (2**attempt) * self._rng.uniform(0.5, 1.5)
        if err.retry_hint_s:
            delay = max(delay, float(err.retry_hint_s))
        if delay > self.max_retry_wait_s or time.monotonic() + delay >= deadline:
            return False  # a long wait belongs to the client (Retry-After), not to this request
        log.info("retrying dashscope call in %.2fs (attempt %d, %s)", delay, attempt + 2, err.code)
        self._sleep(delay)
        return True


def _is_read_timeout(exc: BaseException) -> bool:
    """True for a read timeout (before or between chunks); connect timeouts are network errors."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return False
    if isinstance(exc, requests.exceptions.Timeout):
        return True
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            break
        if isinstance(seen, ReadTimeoutError) or any(isinstance(a, ReadTimeoutError) for a in seen.args):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _retry_after(headers: Any) -> int | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date), if present."""
    if not headers:
        return None
    value = next((v for k, v in dict(headers).items() if str(k).lower() == "retry-after"), None)
    if value is None:
        return None
    value = str(value).strip()
    if value.isdigit():
        return int(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(1, int(when.timestamp() - time.time()))
