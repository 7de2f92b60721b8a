"""Asyncio load generator for streamed chat turns (SSE), bounded in time.

Each stream POSTs ``{"message": "[bench id=…] …", "stream": true}`` to its own
conversation; arrivals are spread evenly over ``spread_s``.  Recorded per
stream (monotonic clock): sent, first ``delta`` event, ``done`` event, and an
error when the status is not 200, an ``error`` event arrives, the stream ends
without ``done`` or the deadline passes.  The upstream's own first-chunk time
comes from the fake (bench/fake_upstream.py), keyed by the same tag.

Standalone::

    python -m bench.sse_load --url http://127.0.0.1:5000 --pairs pairs.txt --fake http://127.0.0.1:18589 \
        --spread 5 --first-ms 500 --chunks 20 --every-ms 500

(``pairs.txt``: one ``<access token> <conversation id>`` per line; one stream per line.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp

from bench.inproc import tag_message
from bench.services import quiet_gc
from bench.stats import summary


@dataclass
class Stream:
    """What one client saw of one streamed turn."""

    tag: str
    start: float = 0.0
    first: float | None = None
    end: float | None = None
    status: int | None = None
    deltas: int = 0
    error: str | None = None

    @property
    def ttft_s(self) -> float | None:
        return None if self.first is None else self.first - self.start


@dataclass
class Profile:
    """How the fake upstream answers: delay to the first chunk, chunk count, interval."""

    first_ms: float = 500
    chunks: int = 19
    every_ms: float = 500

    @property
    def seconds(self) -> float:
        """Length of one answer: the fake sends ``chunks`` text events and a final one, ``every_ms`` apart."""
        return (self.first_ms + self.chunks * self.every_ms) / 1000


async def _one(
    session: aiohttp.ClientSession, url: str, token: str, tag: str, profile: Profile, delay_s: float, deadline_s: float
) -> Stream:
    await asyncio.sleep(delay_s)
    result = Stream(tag=tag, start=time.monotonic())
    body = {"message": tag_message(tag, profile.first_ms, profile.chunks, profile.every_ms), "stream": True}
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    try:
        async with asyncio.timeout(deadline_s):
            async with session.post(url, json=body, headers=headers) as resp:
                result.status = resp.status
                if resp.status != 200:
                    result.error = f"http_{resp.status}"
                    return result
                async for raw in resp.content:
                    line = raw.decode("utf-8", "replace").strip()
                    if not line.startswith("data: "):
                        continue
                    event = json.loads(line[6:])
                    kind = event.get("type")
                    if kind == "delta":
                        result.deltas += 1
                        if result.first is None:
                            result.first = time.monotonic()
                    elif kind == "done":
                        result.end = time.monotonic()
                    elif kind == "error":
                        result.error = "event_" + str((event.get("error") or {}).get("code"))
        if result.end is None and result.error is None:
            result.error = "no_done_event"
    except TimeoutError:
        result.error = "deadline"
    except (aiohttp.ClientError, OSError) as exc:
        result.error = type(exc).__name__
    return result


async def run_streams(
    base_url: str,
    pairs: list[tuple[str, str]],
    *,
    spread_s: float,
    profile: Profile,
    tag_prefix: str,
    slack_s: float = 30.0,
) -> list[Stream]:
    """One stream per (token, conversation) pair, starts spread evenly over ``spread_s``."""
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10)
    deadline_s = profile.seconds + slack_s
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        tasks = [
            _one(
                session,
                f"{base_url}/api/chat/conversations/{conversation}/messages",
                token,
                f"{tag_prefix}-{i}",
                profile,
                spread_s * i / max(1, len(pairs)),
                deadline_s,
            )
            for i, (token, conversation) in enumerate(pairs)
        ]
        with quiet_gc():  # the client's own collector must not delay the first tokens it times
            return list(await asyncio.gather(*tasks))


async def fake_timings(fake_base: str, clear: bool = False) -> dict[str, dict[str, float | None]]:
    """The upstream's own timings per tag (``fake_base`` without /api/v1)."""
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{fake_base}/__bench/timings") as resp:
            timings = await resp.json()
        if clear:
            async with session.delete(f"{fake_base}/__bench/timings"):
                pass
    return timings


def peak_concurrency(streams: list[Stream]) -> int:
    """The largest number of streams open at the same moment."""
    edges = [(s.start, 1) for s in streams] + [((s.end or s.start), -1) for s in streams]
    open_now = peak = 0
    for _t, step in sorted(edges, key=lambda e: (e[0], e[1])):
        open_now += step
        peak = max(peak, open_now)
    return peak


def analyse(streams: list[Stream], timings: dict[str, dict[str, float | None]]) -> dict[str, Any]:
    """Errors, peak concurrency, TTFT and TTFT overhead (client TTFT minus the upstream's own first chunk)."""
    errors: dict[str, int] = {}
    for s in streams:
        if s.error:
            errors[s.error] = errors.get(s.error, 0) + 1
    ttft, overhead, upstream = [], [], []
    for s in streams:
        own = (timings.get(s.tag) or {}).get("first_s")
        if s.ttft_s is None or own is None:
            continue
        ttft.append(s.ttft_s * 1000)
        upstream.append(own * 1000)
        overhead.append((s.ttft_s - own) * 1000)
    return {
        "streams": len(streams),
        "completed": sum(1 for s in streams if s.end is not None and not s.error),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "peak_concurrent": peak_concurrency(streams),
        "ttft_ms": summary(ttft),
        "upstream_first_chunk_ms": summary(upstream),
        "ttft_overhead_ms": summary(overhead),
    }


def main(argv: list[str] | None = None) -> None:
    """Run one step from the command line and print the analysis as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="HydroNet base URL")
    parser.add_argument("--pairs", required=True, help="file: '<token> <conversation id>' per line")
    parser.add_argument("--fake", required=True, help="fake upstream base URL (without /api/v1)")
    parser.add_argument("--spread", type=float, default=5.0)
    parser.add_argument("--first-ms", type=float, default=500)
    parser.add_argument("--chunks", type=int, default=19)
    parser.add_argument("--every-ms", type=float, default=500)
    args = parser.parse_args(argv)
    with open(args.pairs) as handle:
        pairs = [tuple(line.split()[:2]) for line in handle if line.strip()]
    profile = Profile(args.first_ms, args.chunks, args.every_ms)

    async def go() -> dict[str, Any]:
        streams = await run_streams(
            args.url,
            pairs,
            spread_s=args.spread,
            profile=profile,  # type: ignore[arg-type]
            tag_prefix=f"cli{int(time.time())}",
        )
        return {**analyse(streams, await fake_timings(args.fake)), "raw": [asdict(s) for s in streams[:5]]}

    print(json.dumps(asyncio.run(go()), indent=1))


if __name__ == "__main__":
    main()
