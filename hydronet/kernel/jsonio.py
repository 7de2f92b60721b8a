"""The app's JSON provider: hostile nesting is a malformed body, not a crash."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask.json.provider import DefaultJSONProvider


class SafeJSONProvider(DefaultJSONProvider):
    """DefaultJSONProvider whose `loads` turns RecursionError (deep nesting) into ValueError."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def iso(value: datetime | None) -> str | None:
    """ISO-8601 with an explicit UTC offset, or None (SQLite hands back naive UTC datetimes)."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
