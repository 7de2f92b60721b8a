"""/api/networks: upload, import, list, detail, download, delete — validation, quotas, audit and tenancy."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from hydronet.kernel.audit import AuditLog
from hydronet.kernel.db import db
from hydronet.kernel.tenancy import all_tenants
from hydronet.models import Network
from tests.support.networks import import_example, library_text, upload


def stored_networks(app) -> list[Network]:
    """Every network row, across tenants."""
    with app.app_context(), all_tenants(db.session):
        return list(db.session.execute(select(Network)).scalars())


def audit_actions(app, tenant_id) -> list[str]:
    """Audit actions of a tenant, oldest first."""
    with app.app_context(), all_tenants(db.session):
        rows = db.session.execute(
            select(AuditLog.action).where(AuditLog.tenant_id == tenant_id).order_by(AuditLog.id)
        ).scalars()
        return list(rows)


def test_import_net3_reports_its_structure(client, member, app, two_tenants):
    """Net3's well-known structure comes back through the API, and the import is audited."""
    _user, headers = member
    network = import_example(client, headers, "net3")  # names match case-insensitively
    counts = network["summary"]["counts"]
    assert network["name"] == "Net3" and network["filename"] == "Net3.inp" and network["source"] == "example"
    assert (counts["junctions"], counts["tanks"], counts["reservoirs"], counts["pipes"], counts["pumps"]) == (
        92,
        3,
        2,
        117,
        2,
    )
    assert network["summary"]["time"]["duration_h"] == 168
    detail = client.get(f"/api/networks/{network['id']}", headers=headers).get_json()["network"]
    assert detail == network and "inp_text" not in detail
    assert audit_actions(app, two_tenants["a"].id)[-1] == "network.import"


def test_list_newest_first_and_examples(client, member):
    """The list holds the tenant's networks newest first, without the .inp text; examples name WNTR's networks."""
    _user, headers = member
    first = import_example(client, headers, "Net1")
    second = import_example(client, headers, "Net2", name="二号管网")
    listed = client.get("/api/networks", headers=headers).get_json()["networks"]
    assert [n["id"] for n in listed] == [second["id"], first["id"]]
    assert listed[0]["name"] == "二号管网" and all("inp_text" not in n for n in listed)
    examples = {e["name"] for e in client.get("/api/networks/examples", headers=headers).get_json()["examples"]}
    assert {"Net1", "Net2", "Net3", "Net6", "ky4", "ky10"} <= examples
    resp = client.post("/api/networks/import", headers=headers, json={"example": "Net99"})
    assert resp.status_code == 422 and "example" in resp.get_json()["error"]["fields"]


def test_upload_download_delete_round_trip(client, member, app, two_tenants):
    """An uploaded file is parsed, summarised, downloadable as sent, then deleted — each step audited."""
    _user, headers = member
    text = library_text("Net1")
    resp = upload(client, headers, text, filename="../../etc/Net1 copy.inp", name="一号管网")
    assert resp.status_code == 201, resp.get_json()
    network = resp.get_json()["network"]
    assert network["name"] == "一号管网" and network["filename"] == "Net1 copy.inp" and network["source"] == "upload"
    assert network["size_bytes"] == len(text.encode()) and network["summary"]["counts"]["junctions"] == 9
    download = client.get(f"/api/networks/{network['id']}/download", headers=headers)
    assert download.status_code == 200 and download.get_data(as_text=True) == text
    assert "attachment" in download.headers["Content-Disposition"]
    assert client.delete(f"/api/networks/{network['id']}", headers=headers).get_json() == {
        "success": True,
        "deleted": True,
    }
    assert client.get(f"/api/networks/{network['id']}", headers=headers).status_code == 404
    assert audit_actions(app, two_tenants["a"].id)[-3:] == ["network.upload", "network.download", "network.delete"]


def _broken(pattern: str, replacement: str) -> str:
    """Net1 with one line altered."""
    text = library_text("Net1")
    out = re.sub(pattern, replacement, text, count=1, flags=re.M)
    assert out != text
    return out


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("text", "needle", "section", "reason"),
    [
        (
            _broken(r"^ 10(\s+)10(\s+)11(\s+)10530", r" 10\g<1>10\g<2>11\g<3>xyz"),
            "xyz",
            "[PIPES]",
            "invalid number 'xyz'",
        ),
        (_broken(r"^\[TANKS\]", "[TANKZ]"), "[TANKZ]", "[TANKZ]", "unknown section"),
        (_broken(r"^ 10(\s+)10(\s+)11", r" 10\g<1>10\g<2>999"), "999", "[PIPES]", "undefined node"),
    ],
)
def test_malformed_inp_is_422_naming_line_and_section(client, member, app, text, needle, section, reason):
    """A bad file answers 422 with the line, the section and the reason — and nothing is stored."""
    _user, headers = member
    resp = upload(client, headers, text)
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert error["code"] == "validation_error"
    assert error["line"] == _line_of(text, needle) and error["section"] == section
    assert reason in error["fields"]["file"] and f"line {error['line']}" in error["fields"]["file"]
    assert stored_networks(app) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"\x00\x01PK\x03\x04", "binary"), ("[TITLE]\nno nodes\n[END]\n", "no nodes")],
)
def test_unusable_files_are_422(client, member, app, content, message):
    """Empty, binary and node-less files are refused before anything is stored."""
    _user, headers = member
    resp = upload(client, headers, content)
    assert resp.status_code == 422 and message in resp.get_json()["error"]["fields"]["file"]
    assert stored_networks(app) == []


def test_upload_needs_a_file_field(client, member):
    """A JSON body or a form without ``file`` is a 422 naming the field."""
    _user, headers = member
    resp = client.post("/api/networks", headers=headers, json={"name": "x"})
    assert resp.status_code == 422 and "file" in resp.get_json()["error"]["fields"]


def test_file_over_20_mb_is_413(client, member, app):
    """Bodies over the 20 MB limit are refused with the JSON error shape, nothing stored."""
    _user, headers = member
    resp = upload(client, headers, b";" * (20 * 1024 * 1024 + 1))
    assert resp.status_code == 413
    assert resp.get_json()["error"]["code"] == "payload_too_large"
    assert stored_networks(app) == []


def test_network_count_quota_is_429(client, factory):
    """The plan's network count is enforced before parsing."""
    tenant = factory.tenant(plan="free", quota_overrides={"networks": 1})
    headers = factory.headers(factory.user(tenant, role="member"))
    import_example(client, headers, "Net1")
    resp = client.post("/api/networks/import", headers=headers, json={"example": "Net2"})
    assert resp.status_code == 429
    error = resp.get_json()["error"]
    assert (error["code"], error["quota"], error["limit"], error["used"]) == ("quota_exceeded", "networks", 1, 1)


def test_storage_quota_is_429(client, factory, app):
    """A file that would take the tenant past its storage_mb is refused; smaller ones still fit."""
    tenant = factory.tenant(plan="free", quota_overrides={"storage_mb": 1})
    headers = factory.headers(factory.user(tenant, role="member"))
    padded = library_text("Net1") + ";" + "x" * (1024 * 1024) + "\n"
    resp = upload(client, headers, padded)
    assert resp.status_code == 429
    assert (resp.get_json()["error"]["quota"], resp.get_json()["error"]["limit"]) == ("storage_mb", 1)
    assert stored_networks(app) == []
    assert upload(client, headers, library_text("Net1")).status_code == 201


def test_viewer_reads_but_cannot_write(client, factory, two_tenants, member):
    """Viewers list and inspect networks; uploading, importing and deleting need networks:write."""
    _user, headers = member
    network = import_example(client, headers, "Net1")
    viewer = factory.headers(two_tenants["a_users"]["viewer"])
    assert client.get(f"/api/networks/{network['id']}", headers=viewer).status_code == 200
    assert client.post("/api/networks/import", headers=viewer, json={"example": "Net1"}).status_code == 403
    assert client.delete(f"/api/networks/{network['id']}", headers=viewer).status_code == 403
    run = client.post(f"/api/networks/{network['id']}/analyses/topology", headers=viewer, json={})
    assert run.status_code == 403


def test_other_tenant_gets_404_everywhere(client, factory, two_tenants, member):
    """Tenant B probing tenant A's network and job ids gets 404, and sees an empty list."""
    _user, headers = member
    network = import_example(client, headers, "Net1")
    job = client.post(f"/api/networks/{network['id']}/analyses/hydraulic?async=true", headers=headers, json={})
    assert job.status_code == 202
    job_url = f"/api/jobs/{job.get_json()['job']['id']}"
    for _ in range(600):  # let the background thread finish before the tables are cleaned
        if client.get(job_url, headers=headers).get_json()["job"]["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    b = factory.headers(two_tenants["b_owner"])
    nid = network["id"]
    probes = [
        ("GET", f"/api/networks/{nid}"),
        ("DELETE", f"/api/networks/{nid}"),
        ("GET", f"/api/networks/{nid}/download"),
        ("POST", f"/api/networks/{nid}/analyses/hydraulic"),
        ("POST", f"/api/networks/{nid}/analyses/pipe_criticality"),
        ("GET", f"/api/networks/{nid}/timeseries?element=10&variable=pressure"),
        ("GET", f"/api/networks/{nid}/map.json"),
        ("GET", f"/api/networks/{nid}/map.png"),
        ("GET", f"/api/networks/{nid}/timeseries.svg?element=10&variable=pressure"),
        ("GET", job_url),
    ]
    for method, url in probes:
        resp = client.open(url, method=method, headers=b, json={})
        assert resp.status_code == 404, (method, url, resp.status_code)
        assert resp.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/networks", headers=b).get_json()["networks"] == []
    assert client.get(f"/api/networks/{nid}", headers=headers).status_code == 200
