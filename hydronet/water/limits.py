"""Wall-clock limits for analyses: a cooperative deadline and a worker-thread timeout."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from hydronet.water.errors import AnalysisTimeout

T = TypeVar("T")
Progress = Callable[[int, int], None]


class Deadline:
    """A point in monotonic time after which iterative analyses stop early."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._end = None if seconds is None else time.monotonic() + seconds

    def expired(self) -> bool:
        """True once the time limit has passed (never for an unlimited deadline)."""
        return self._end is not None and time.monotonic() >= self._end

    def remaining(self) -> float | None:
        """Seconds left, or None when unlimited."""
        return None if self._end is None else max(self._end - time.monotonic(), 0.0)


def run_with_timeout(function: Callable[..., T], timeout_s: float | None, *args: Any, **kwargs: Any) -> T:
    """Call ``function`` in a worker thread; raise AnalysisTimeout if it runs past ``timeout_s``.

    Python cannot kill a thread: on timeout the worker is abandoned (daemon) and finishes in the
    background, its result discarded. Prefer ``time_limit_s`` on iterative analyses, which stop cleanly.
    """
    if timeout_s is None:
        return function(*args, **kwargs)
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = function(*args, **kwargs)
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=target, name=f"analysis-{getattr(function, '__name__', 'call')}", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise AnalysisTimeout(f"analysis did not finish within {timeout_s:g} s", seconds=timeout_s)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
