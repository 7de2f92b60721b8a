"""Customer-service (客服) pushes for late answers, and a WeChatClient whose token refresh is shared.

wechatpy's client keeps the access_token in its session storage and calls `fetch_access_token`
when the token is missing or when an API answers 40001/40014/42001. Every worker would refresh
on its own, and each refresh invalidates the others' token, so `make_client` returns a client whose
fetch runs under a lock (redis-py `Lock` when Redis is given, a process lock otherwise), re-reads
the shared storage inside it, and only calls WeChat when nobody refreshed meanwhile. The token is
stored with a TTL 5 minutes shorter than WeChat's so it is renewed before WeChat expires it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

import redis
import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage
from wechatpy.session.redisstorage import RedisStorage

from hydronet.wechat.delivery import queue_pending
from hydronet.wechat.kv import KV
from hydronet.wechat.protocol import AccountConfig

log = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://api.weixin.qq.com/cgi-bin/"
TOKEN_MARGIN_S = 300
STOP_REASONS = {45015: "window_closed", 48001: "not_permitted", 45047: "too_many_pushes"}
TRANSIENT_CODES = {-1, None}  # system busy; None = HTTP/network failure
RETRY_LATER = {"window_closed", "not_permitted", "too_many_pushes", "transient"}


@dataclass(frozen=True)
class PushResult:
    """Outcome of pushing a multi-part answer."""

    sent: int
    undelivered: list[str]
    errcode: int | None = None
    reason: str = "ok"  # ok | window_closed | not_permitted | too_many_pushes | transient | error | not_pushing
    queued: int = 0

    @property
    def ok(self) -> bool:
        """True when every part went out."""
        return not self.undelivered

    @property
    def retry_later(self) -> bool:
        """True when undelivered parts are worth keeping for the user's next message."""
        return self.reason in RETRY_LATER or self.reason == "not_pushing"


def push_text(
    client: WeChatClient,
    openid: str,
    parts: list[str],
    *,
    retry_delay_s: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> PushResult:
    """Send parts in order; stop at the first refusal and return what was not delivered."""
    for i, part in enumerate(parts):
        for attempt in (1, 2):
            try:
                client.message.send_text(openid, part)
                break
            except WeChatClientException as exc:
                code = exc.errcode
            except requests.RequestException as exc:
                log.warning("wechat push network error: %s", exc)
                code = None
            if code in STOP_REASONS:
                log.info("wechat push stopped by errcode %s after %d parts", code, i)
                return PushResult(i, list(parts[i:]), code, STOP_REASONS[code])
            if code in TRANSIENT_CODES and attempt == 1:
                sleep(retry_delay_s)
                continue
            reason = "transient" if code in TRANSIENT_CODES else "error"
            log.warning("wechat push failed (errcode %s, %s) after %d parts", code, reason, i)
            return PushResult(i, list(parts[i:]), code, reason)
    return PushResult(len(parts), [])


def push_or_queue(
    kv: KV, client: WeChatClient | None, account_key: str, openid: str, parts: list[str], *, can_push: bool
) -> PushResult:
    """Deliver a late answer: push when allowed, and queue whatever could not go for the next message."""
    if not parts:
        return PushResult(0, [])
    result = (
        push_text(client, openid, parts)
        if can_push and client is not None
        else PushResult(0, list(parts), None, "not_pushing")
    )
    if result.undelivered and result.retry_later:
        queue_pending(kv, account_key, openid, result.undelivered)
        return PushResult(result.sent, result.undelivered, result.errcode, result.reason, len(result.undelivered))
    return result


class _MemoryStorage(SessionStorage):
    """Process-wide session storage that honours TTLs (wechatpy's MemoryStorage ignores them)."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[Any, float | None]] = {}
        self._mutex = threading.Lock()

    def get(self, key: str, default: Any = None) -> Any:
        with self._mutex:
            value, expires = self._data.get(key, (default, None))
            if expires is not None and expires <= time.monotonic():
                self._data.pop(key, None)
                return default
            return value

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        if value is not None:
            with self._mutex:
                self._data[key] = (value, time.monotonic() + ttl if ttl else None)

    def delete(self, key: str) -> None:
        with self._mutex:
            self._data.pop(key, None)


_PROCESS_STORAGE = _MemoryStorage()
_PROCESS_LOCKS: dict[str, threading.Lock] = {}
_PROCESS_LOCKS_MUTEX = threading.Lock()


@contextmanager
def _process_lock(name: str, timeout_s: float = 15.0) -> Iterator[None]:
    """In-process named lock, for embedded mode."""
    with _PROCESS_LOCKS_MUTEX:
        lock = _PROCESS_LOCKS.setdefault(name, threading.Lock())
    acquired = lock.acquire(timeout=timeout_s)
    try:
        yield
    finally:
        if acquired:
            lock.release()


@contextmanager
def _redis_lock(client: redis.Redis, name: str, timeout_s: float = 15.0) -> Iterator[None]:
    """redis-py Lock shared by workers; on lock trouble proceed anyway (a double fetch beats no token)."""
    lock = client.lock(name, timeout=timeout_s * 2, blocking_timeout=timeout_s)
    try:
        acquired = lock.acquire()
    except redis.RedisError as exc:
        log.warning("token lock %s unavailable (%s); fetching without it", name, exc)
        acquired = False
    try:
        yield
    finally:
        if acquired:
            try:
                lock.release()
            except redis.exceptions.LockError:
                log.warning("token lock %s expired before release", name)


class LockedTokenClient(WeChatClient):
    """WeChatClient with a configurable API base whose token refresh is serialized across workers."""

    def __init__(
        self,
        appid: str,
        secret: str,
        *,
        session: SessionStorage,
        api_base_url: str,
        token_lock: Callable[[], AbstractContextManager[None]],
        timeout: float,
    ) -> None:
        super().__init__(appid, secret, session=session, timeout=timeout)
        self.API_BASE_URL = api_base_url  # instance attribute shadows the class constant used by _request
        self._token_lock = token_lock

    def fetch_access_token(self) -> dict[str, Any]:
        """Fetch a token unless another worker refreshed it while we waited for the lock."""
        seen = self.session.get(self.access_token_key)
        with self._token_lock():
            current = self.session.get(self.access_token_key)
            if current and current != seen:
                return {"access_token": current}
            res = self._http.get(
                self.API_BASE_URL + "token",
                timeout=self.timeout,
                params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
            )
            try:
                res.raise_for_status()
                result = res.json()
            except (requests.RequestException, ValueError):
                raise WeChatClientException(
                    None, f"token endpoint HTTP {res.status_code}", client=self, request=res.request, response=res
                ) from None
            if result.get("errcode"):
                raise WeChatClientException(
                    result["errcode"], result.get("errmsg"), client=self, request=res.request, response=res
                )
            expires_in = int(result.get("expires_in", 7200))
            self.session.set(self.access_token_key, result["access_token"], max(60, expires_in - TOKEN_MARGIN_S))
            # expires_at stays None: wechatpy then trusts the shared storage, whose TTL does the expiry
            return result


def make_client(
    cfg: AccountConfig,
    redis_client: redis.Redis | None = None,
    api_base_url: str | None = None,
    *,
    timeout_s: float = 10.0,
    session_prefix: str = "hydronet:wechat",
) -> LockedTokenClient:
    """A client for one account; token shared through Redis (or this process when redis_client is None)."""
    base = (api_base_url or DEFAULT_API_BASE_URL).rstrip("/") + "/"
    lock_name = f"{session_prefix}:{cfg.app_id}:token-lock"
    if redis_client is not None:
        session: SessionStorage = RedisStorage(redis_client, prefix=session_prefix)
        lock: Callable[[], AbstractContextManager[None]] = lambda: _redis_lock(redis_client, lock_name)  # noqa: E731
    else:
        session = _PROCESS_STORAGE
        lock = lambda: _process_lock(lock_name)  # noqa: E731
    return LockedTokenClient(
        cfg.app_id, cfg.app_secret, session=session, api_base_url=base, token_lock=lock, timeout=timeout_s
    )
