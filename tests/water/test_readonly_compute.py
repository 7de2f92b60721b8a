"""Reading routes that would simulate: computing needs 'analyses:run' and is metered; read-only callers read the cache."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hydronet.kernel.db import db
from hydronet.kernel.tenancy import all_tenants
from hydronet.models import UsageRecord
from tests.support.networks import import_example

SERIES = "timeseries?element=22&variable=pressure&duration_h=168"
READS = [
    SERIES,
    "timeseries.png?element=22&variable=pressure&duration_h=168",
    "map.json?value=min_pressure",
    "map.json?value=max_velocity&duration_h=48",
    "map.svg?value=mean_pressure",
]


def analysis_records(app) -> list[tuple[str, str, str]]:
    with app.app_context(), all_tenants(db.session):
        rows = db.session.execute(
            select(UsageRecord.kind, UsageRecord.tool, UsageRecord.status).where(UsageRecord.kind == "analysis")
        ).all()
    return sorted(tuple(r) for r in rows)


@pytest.fixture
def network(client, factory, two_tenants):
    owner = two_tenants["a_users"]["owner"]
    return import_example(client, factory.headers(owner), "Net1")["id"]


def read_only_callers(client, factory, two_tenants):
    viewer = factory.headers(two_tenants["a_users"]["viewer"])
    key = client.post(
        "/api/tenant/api-keys",
        headers=factory.headers(two_tenants["a_users"]["owner"]),
        json={"name": "dashboard", "scopes": ["networks:read"]},
    ).get_json()["key"]
    return {"viewer": viewer, "networks:read key": {"Authorization": f"Bearer {key}"}}


def test_read_only_callers_cannot_start_a_simulation(app, client, factory, two_tenants, network):
    for who, headers in read_only_callers(client, factory, two_tenants).items():
        for path in READS:
            resp = client.get(f"/api/networks/{network}/{path}", headers=headers)
            assert resp.status_code == 403, (who, path, resp.status_code)
            error = resp.get_json()["error"]
            assert error["code"] == "analysis_not_cached" and "analyses:run" in error["message"], (who, path)
    assert analysis_records(app) == []
    # what needs no simulation stays readable
    viewer = read_only_callers(client, factory, two_tenants)["viewer"]
    assert client.get(f"/api/networks/{network}/map.json?value=elevation", headers=viewer).status_code == 200
    assert client.get(f"/api/networks/{network}/map.svg?value=none", headers=viewer).status_code == 200


def test_computing_is_metered_and_read_only_callers_then_read_the_cached_result(
    app, client, factory, two_tenants, network
):
    member = factory.headers(two_tenants["a_users"]["member"])
    computed = {}
    for path in (SERIES, "map.json?value=min_pressure"):
        resp = client.get(f"/api/networks/{network}/{path}", headers=member)
        assert resp.status_code == 200, resp.get_json()
        computed[path] = resp.get_json()
    assert analysis_records(app) == [("analysis", "map", "ok"), ("analysis", "timeseries", "ok")]
    for who, headers in read_only_callers(client, factory, two_tenants).items():
        for path, body in computed.items():
            resp = client.get(f"/api/networks/{network}/{path}", headers=headers)
            assert resp.status_code == 200 and resp.get_json() == body, (who, path)
    assert (
        client.get(
            f"/api/networks/{network}/timeseries.png?element=22&variable=pressure&duration_h=168",
            headers=read_only_callers(client, factory, two_tenants)["viewer"],
        ).status_code
        == 200
    )
    # read-only reads are not metered; a different, uncomputed duration is still refused
    assert len(analysis_records(app)) == 2
    other = client.get(
        f"/api/networks/{network}/timeseries?element=22&variable=pressure&duration_h=24",
        headers=read_only_callers(client, factory, two_tenants)["viewer"],
    )
    assert other.status_code == 403


def test_bad_parameters_are_still_422_for_read_only_callers(client, factory, two_tenants, network):
    viewer = factory.headers(two_tenants["a_users"]["viewer"])
    assert (
        client.get(f"/api/networks/{network}/timeseries?element=22&variable=bogus", headers=viewer).status_code == 422
    )
    assert client.get(f"/api/networks/{network}/map.json?value=colour", headers=viewer).status_code == 422


def test_export_and_report_do_not_compute_for_read_only_callers(app, client, factory, two_tenants, network):
    """The workbook and the report page read an analysis: computing it is the same right as running it."""
    paths = ["analyses/hydraulic/export.xlsx", "analyses/hydraulic/report"]
    for who, headers in read_only_callers(client, factory, two_tenants).items():
        for path in paths:
            resp = client.get(f"/api/networks/{network}/{path}", headers=headers)
            assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "analysis_not_cached", (who, path)
    assert analysis_records(app) == []
    member = factory.headers(two_tenants["a_users"]["member"])
    ran = client.post(f"/api/networks/{network}/analyses/hydraulic", headers=member, json={})
    assert ran.status_code == 200
    viewer = read_only_callers(client, factory, two_tenants)["viewer"]
    report = client.get(f"/api/networks/{network}/analyses/hydraulic/report", headers=viewer)
    assert report.status_code == 200 and report.get_json()["result"] == ran.get_json()["result"]
    xlsx = client.get(f"/api/networks/{network}/analyses/hydraulic/export.xlsx", headers=viewer)
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert analysis_records(app) == [("analysis", "hydraulic", "ok")]  # the viewer's reads are not metered
