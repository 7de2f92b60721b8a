"""Reading a Server-Sent Events body from the Flask test client."""

from __future__ import annotations

import json


def sse_events(resp) -> list[dict]:
    """Parse an SSE body into JSON events (comments skipped)."""
    events = []
    for block in resp.get_data(as_text=True).split("\n\n"):
        for line in block.splitlines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    return events
