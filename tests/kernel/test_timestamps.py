"""Every timestamp an API answer carries states its time zone (SQLite hands back naive datetimes)."""

from __future__ import annotations

import re
from datetime import datetime

from tests.support.networks import import_example

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")


def _stamps(value, path="$"):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _stamps(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _stamps(item, f"{path}[{index}]")
    elif isinstance(value, str) and STAMP.match(value):
        yield path, value


def test_api_timestamps_carry_their_time_zone(client, factory, two_tenants, platform_admin):
    owner = factory.headers(two_tenants["a_users"]["owner"])
    admin = factory.headers(platform_admin)
    network = import_example(client, owner, "Net1")["id"]
    client.post("/api/tenant/api-keys", headers=owner, json={"name": "ci", "scopes": ["chat"]})
    cid = client.post("/api/chat/conversations", headers=owner, json={"title": "t"}).get_json()["conversation"]["id"]
    client.post(f"/api/chat/conversations/{cid}/messages", headers=owner, json={"message": "hello"})
    job = client.post(f"/api/networks/{network}/analyses/topology?async=true", headers=owner).get_json()["job"]
    answers = [
        client.get(path, headers=headers).get_json()
        for path, headers in (
            ("/api/auth/me", owner),
            ("/api/tenant/info", owner),
            ("/api/tenant/users", owner),
            ("/api/tenant/api-keys", owner),
            ("/api/networks", owner),
            (f"/api/networks/{network}", owner),
            (f"/api/jobs/{job['id']}", owner),
            ("/api/chat/conversations", owner),
            (f"/api/chat/conversations/{cid}", owner),
            ("/api/tenant/usage", owner),
            ("/api/tenant/audit-logs", owner),
            ("/api/admin/tenants", admin),
            ("/api/admin/audit-logs", admin),
            ("/api/admin/users", admin),
        )
    ]
    found = [stamp for answer in answers for stamp in _stamps(answer)]
    assert len(found) > 15
    naive = [(path, value) for path, value in found if datetime.fromisoformat(value).utcoffset() is None]
    assert not naive, naive
