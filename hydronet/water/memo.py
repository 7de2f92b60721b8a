"""Values derived from a parsed model, kept while that model lives: a few per model, least recently used dropped.

The parsed model of a stored network is shared within a process (``networks.model_of``), so what
a sweep derives from it — the open EPANET project, the prepared copy, populations — serves every
later sweep on the same network and settings instead of being rebuilt per call.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class PerModel(Generic[T]):
    """Up to ``per_model`` values per owner model, by key; ``drop`` is called on values pushed out."""

    def __init__(
        self, per_model: int, drop: Callable[[T], None] | None = None, usable: Callable[[T], bool] | None = None
    ) -> None:
        self.per_model = per_model
        self._drop = drop
        self._usable = usable
        self._kept: weakref.WeakKeyDictionary[Any, OrderedDict[str, T]] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def get(self, owner: Any, key: str, make: Callable[[], T]) -> T:
        """The value kept for ``owner`` under ``key``, made (outside the lock) when missing or no longer usable."""
        with self._lock:
            kept = self._kept.get(owner)
            if kept is None:
                kept = self._kept[owner] = OrderedDict()
            value = kept.get(key)
            if value is not None and (self._usable is None or self._usable(value)):
                kept.move_to_end(key)
                return value
        value = make()
        dropped = []
        with self._lock:
            kept[key] = value
            while len(kept) > self.per_model:
                dropped.append(kept.popitem(last=False)[1])
        if self._drop is not None:
            for old in dropped:
                self._drop(old)
        return value
