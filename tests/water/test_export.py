"""Analysis exports: the XLSX workbook read back, the report data, tenant scoping and the audit trail."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import openpyxl
import pytest
import wntr
from sqlalchemy import select

from hydronet.kernel.db import db
from hydronet.kernel.tenancy import all_tenants
from hydronet.models import AuditLog
from tests.support.networks import import_example

NETWORKS = Path(wntr.__file__).resolve().parent / "library" / "networks"


@pytest.fixture
def owner(factory, two_tenants):
    return factory.headers(two_tenants["a_users"]["owner"])


def _reference_min_pressures(example: str):
    """Each junction's minimum pressure over the run, straight from EPANET via WNTR."""
    wn = wntr.network.WaterNetworkModel(str(NETWORKS / f"{example}.inp"))
    results = wntr.sim.EpanetSimulator(wn).run_sim(file_prefix=str(Path(tempfile.mkdtemp()) / "ref"))
    return results.node["pressure"][wn.junction_name_list].min().sort_values()


def test_hydraulic_workbook_reads_back_with_units_and_worst_first(client, owner, app):
    nid = import_example(client, owner, "Net3")["id"]
    resp = client.get(f"/api/networks/{nid}/analyses/hydraulic/export.xlsx", headers=owner, query_string={"lang": "en"})
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in resp.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(resp.data))
    assert book.sheetnames[0] == "Summary" and "Junction minimum pressure" in book.sheetnames
    assert "Tank levels" in book.sheetnames and "Pipe maximum velocity" in book.sheetnames
    reference = _reference_min_pressures("Net3")
    sheet = book["Junction minimum pressure"]
    headers = [c.value for c in sheet[1]]
    assert headers[:3] == ["Junction", "Minimum pressure (m)", "At (h)"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(reference)
    assert rows[0][0] == reference.index[0] and rows[0][1] == pytest.approx(reference.iloc[0], abs=1e-3)
    assert [r[1] for r in rows] == sorted(r[1] for r in rows)  # worst (lowest) first
    summary = [[c for c in row if c is not None] for row in book["Summary"].iter_rows(values_only=True)]
    text = "\n".join(" | ".join(map(str, row)) for row in summary)
    assert f"Junction {reference.index[0]} has negative pressure" in text
    assert "Simulated period (h) | 168" in text and "Lowest pressure" in text
    with app.app_context(), all_tenants(db.session):
        entry = db.session.execute(select(AuditLog).where(AuditLog.action == "analysis.export")).scalar_one()
    assert entry.details == {"name": "Net3", "kind": "hydraulic", "format": "xlsx"} and str(entry.target_id) == nid


def test_chinese_workbook_and_report_data(client, owner):
    nid = import_example(client, owner, "Net1")["id"]
    resp = client.get(f"/api/networks/{nid}/analyses/hydraulic/export.xlsx", headers=owner)
    book = openpyxl.load_workbook(io.BytesIO(resp.data))
    assert book.sheetnames[:2] == ["摘要", "节点最低压力"]
    assert [c.value for c in book["节点最低压力"][1]][:2] == ["节点", "最低压力 (m)"]
    params = json.dumps({"pressure_threshold_m": 90})
    report = client.get(
        f"/api/networks/{nid}/analyses/hydraulic/report", headers=owner, query_string={"params": params}
    ).get_json()
    reference = _reference_min_pressures("Net1")
    assert report["network"]["id"] == nid and report["params"] == {"pressure_threshold_m": 90}
    below = [f for f in report["findings"] if f["code"] == "low_pressure"]
    assert below and set(below[0]["elements"]) == {str(n) for n, p in reference.items() if p < 90}
    assert report["generated_at"].endswith("+00:00")
    assert {s["name"] for s in report["settings"]} >= {"duration_h", "demand_model", "engine"}


def test_exports_are_tenant_scoped_and_validated(client, owner, factory, two_tenants):
    nid = import_example(client, owner, "Net1")["id"]
    outsider = factory.headers(two_tenants["b_owner"])
    assert client.get(f"/api/networks/{nid}/analyses/hydraulic/export.xlsx", headers=outsider).status_code == 404
    assert client.get(f"/api/networks/{nid}/analyses/hydraulic/report", headers=outsider).status_code == 404
    bad = client.get(
        f"/api/networks/{nid}/analyses/hydraulic/export.xlsx", headers=owner, query_string={"params": "[1]"}
    )
    assert bad.status_code == 422 and bad.get_json()["error"]["fields"]["params"]
    assert (
        client.get(
            f"/api/networks/{nid}/analyses/hydraulic/export.xlsx", headers=owner, query_string={"lang": "fr"}
        ).status_code
        == 422
    )
    assert client.get(f"/api/networks/{nid}/analyses/nope/export.xlsx", headers=owner).status_code == 404


def test_a_finished_job_exports_its_own_result(client, owner, factory, two_tenants):
    import time

    nid = import_example(client, owner, "Net3")["id"]
    started = client.post(
        f"/api/networks/{nid}/analyses/fire_flow",
        headers=owner,
        json={"params": {"hydrants": ["10", "15", "35"], "duration_h": 6}},
    ).get_json()
    job_id = started["job"]["id"]
    assert client.get(f"/api/jobs/{job_id}/export.xlsx", headers=owner).status_code in (200, 404)
    deadline = time.monotonic() + 120
    job = started["job"]
    while job["status"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.5)
        job = client.get(f"/api/jobs/{job_id}", headers=owner).get_json()["job"]
    assert job["status"] == "done", job
    assert job["findings"] and job["tables"][0]["key"] == "hydrants"
    resp = client.get(f"/api/jobs/{job_id}/export.xlsx", headers=owner, query_string={"lang": "en"})
    sheet = openpyxl.load_workbook(io.BytesIO(resp.data))["Hydrant results"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    by_name = {r["hydrant"]: r for r in job["result"]["ranking"]}
    assert sorted(r[0] for r in rows) == ["10", "15", "35"]
    assert all((row[1] == "yes") == by_name[row[0]]["passes"] for row in rows)
    assert [row[1] for row in rows] == sorted((row[1] for row in rows), key=lambda v: v == "yes")  # failing first
    outsider = factory.headers(two_tenants["b_owner"])
    assert client.get(f"/api/jobs/{job_id}/export.xlsx", headers=outsider).status_code == 404
