"""The fake DashScope server of the tests, timed per request for the bench.

Each chat message the load generators send starts with a tag such as
``[bench id=d500-17 first_ms=500 chunks=20 every_ms=500]``.  The tag chooses
the upstream's behaviour for that request (delay before the first chunk,
number of chunks, interval between chunks), so one server serves every phase,
and the tag's id keys the timings recorded here:

* ``arrival``  — the request has been read (monotonic clock of this process)
* ``first``    — the first answer chunk was written (streamed calls)
* ``end``      — the answer was written completely

``GET /__bench/timings`` returns ``{id: {"first_s": …, "total_s": …}}`` — the
upstream's *own* time to first chunk and to the end, which the bench
subtracts from what the client saw to get HydroNet's overhead;
``DELETE /__bench/timings`` forgets them.

Run: ``python -m bench.fake_upstream --port 18589``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from dataclasses import dataclass
from typing import Any

from tests.fakes.fake_dashscope import FakeDashScope, FakeReply, Scripted, _last_user_text, _send_json

TAG = re.compile(
    r"\[bench id=(?P<id>[\w.-]+)(?: first_ms=(?P<first>[\d.]+))?"
    r"(?: chunks=(?P<chunks>\d+))?(?: every_ms=(?P<every>[\d.]+))?\]"
)
TIMINGS_PATH = "/__bench/timings"


@dataclass
class Timing:
    """When one tagged request arrived, got its first chunk out, and ended (monotonic seconds)."""

    arrival: float
    first: float | None = None
    end: float | None = None

    def as_dict(self) -> dict[str, float | None]:
        first = None if self.first is None else self.first - self.arrival
        total = None if self.end is None else self.end - self.arrival
        return {"first_s": first, "total_s": total}


class _TimedWriter:
    """A StreamWriter proxy noting when the first answer chunk (the second write) leaves."""

    def __init__(self, writer: Any, timing: Timing, streamed: bool) -> None:
        self._writer, self._timing, self._streamed, self._writes = writer, timing, streamed, 0

    def write(self, data: bytes) -> None:
        self._writes += 1
        if self._timing.first is None and (self._writes == 2 or not self._streamed):
            self._timing.first = time.monotonic()
        self._writer.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._writer, name)


class TimedFakeDashScope(FakeDashScope):
    """FakeDashScope whose default answer follows the message's bench tag, with per-tag timings."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(record_limit=1, **kwargs)
        self.timings: dict[str, Timing] = {}

    async def _handle(self, method: str, path: str, headers: dict[str, str], raw: bytes, writer: Any) -> bool:
        if path == TIMINGS_PATH:
            payload = {key: t.as_dict() for key, t in self.timings.items()}
            if method == "DELETE":
                self.timings.clear()
            return await _send_json(writer, 200, {"count": len(payload)} if method == "DELETE" else payload)
        arrival = time.monotonic()
        tag = TAG.search(_request_text(raw))
        if tag is None:
            return await super()._handle(method, path, headers, raw, writer)
        timing = self.timings[tag["id"]] = Timing(arrival)
        streamed = headers.get("x-dashscope-sse", "").lower() == "enable" or "text/event-stream" in headers.get(
            "accept", ""
        )
        try:
            return await super()._handle(method, path, headers, raw, _TimedWriter(writer, timing, streamed))
        finally:
            timing.end = time.monotonic()

    async def _respond(self, item: Scripted, body: dict[str, Any], stream: bool, rid: str, writer: Any) -> bool:
        tag = TAG.search(_last_user_text(body["input"]["messages"]))
        if tag is not None and isinstance(item, FakeReply) and item == FakeReply():
            item = FakeReply(
                delay_s=float(tag["first"] or 0) / 1000,
                chunks=int(tag["chunks"] or self.chunks),
                chunk_interval_s=float(tag["every"] or 0) / 1000,
            )
        return await super()._respond(item, body, stream, rid, writer)


def _request_text(raw: bytes) -> str:
    """The last user message of a generation request ('' for anything else)."""
    try:
        return _last_user_text(json.loads(raw)["input"]["messages"])
    except (ValueError, KeyError, TypeError):
        return ""


def main(argv: list[str] | None = None) -> None:
    """Serve until interrupted (the bench starts and stops it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18589)
    parser.add_argument("--api-key", default=None)
    args = parser.parse_args(argv)
    fake = TimedFakeDashScope(api_key=args.api_key, host=args.host, port=args.port)
    try:
        asyncio.run(fake.serve_forever())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
