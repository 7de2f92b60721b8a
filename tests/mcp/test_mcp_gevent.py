"""The MCP client under gevent monkey-patching (production's worker class): calls overlap, the hub keeps running."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.fakes.mcp_server import FAKE_TOKEN
from tests.support.constants import ROOT

SCRIPT = textwrap.dedent("""
    from gevent import monkey; monkey.patch_all()
    import json, sys, time
    import gevent
    from hydronet.mcp.client import Endpoint, McpClientError, call_tool
    from hydronet.mcp.ssrf import EgressPolicy

    url, token = sys.argv[1], sys.argv[2]
    policy = EgressPolicy(allow_private=True)
    endpoint = Endpoint(url, {"Authorization": "Bearer " + token}, timeout_s=10)
    call_tool(endpoint, policy, "echo", {"text": "warm-up"})  # imports the SDK once
    ticks = []
    ticker = gevent.spawn(lambda: [(ticks.append(1), gevent.sleep(0.05)) for _ in range(10)])
    started = time.monotonic()
    calls = [gevent.spawn(call_tool, endpoint, policy, "slow", {"seconds": 0.5}) for _ in range(4)]
    gevent.joinall(calls + [ticker], raise_error=True)
    elapsed = time.monotonic() - started
    try:
        call_tool(Endpoint(url, {"Authorization": "Bearer " + token}, timeout_s=0.5), policy, "slow", {"seconds": 2})
        timeout_code = None
    except McpClientError as err:
        timeout_code = err.code
    print(json.dumps({"elapsed": elapsed, "ticks": len(ticks), "texts": [c.value.text for c in calls],
                      "timeout_code": timeout_code}))
""")


def test_client_works_under_gevent(fake_mcp):
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, fake_mcp.url, FAKE_TOKEN], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["texts"] == ["done"] * 4
    assert result["elapsed"] < 1.8, result  # four 0.5 s calls overlapped: queued, they would take 2 s or more
    assert result["ticks"] == 10  # other greenlets kept running meanwhile
    assert result["timeout_code"] == "mcp_timeout"
