"""The demo tenant's network and the offline assistant's brief on it (the guide's first question)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import wntr
from sqlalchemy import select

from hydronet.kernel.db import db
from hydronet.kernel.tenancy import all_tenants
from hydronet.models import AuditLog, Network, Tenant
from hydronet.web.seed import DEMO_EMAIL, DEMO_NETWORK_NAME, DEMO_PASSWORD, seed

NET3 = Path(wntr.__file__).resolve().parent / "library" / "networks" / "Net3.inp"
ADMIN = ("admin@hydronet.example.com", "Admin-Pass-2026!")


def _demo_networks(app):
    with app.app_context(), all_tenants(db.session):
        demo = db.session.execute(select(Tenant).where(Tenant.slug == "demo")).scalar_one()
        return list(db.session.execute(select(Network).where(Network.tenant_id == demo.id)).scalars())


def test_seed_gives_the_demo_tenant_net3_once(app):
    with app.app_context():
        seed(*ADMIN, demo=True)
        seed(*ADMIN, demo=True)
    networks = _demo_networks(app)
    assert [n.name for n in networks] == [DEMO_NETWORK_NAME]
    reference = wntr.network.WaterNetworkModel(str(NET3))
    counts = networks[0].summary["counts"]
    assert counts["junctions"] == reference.num_junctions and counts["tanks"] == reference.num_tanks
    assert counts["pipes"] == reference.num_pipes and counts["pumps"] == reference.num_pumps
    with app.app_context(), all_tenants(db.session):
        imports = db.session.execute(select(AuditLog).where(AuditLog.action == "network.import")).scalars().all()
    assert len(imports) == 1 and imports[0].details["name"] == DEMO_NETWORK_NAME


def _net3_reference():
    """The lowest junction pressure of Net3 and where/when it happens, straight from EPANET via WNTR."""
    wn = wntr.network.WaterNetworkModel(str(NET3))
    pressure = wntr.sim.EpanetSimulator(wn).run_sim(file_prefix=str(Path(tempfile.mkdtemp()) / "ref")).node["pressure"]
    pressure = pressure[wn.junction_name_list]
    node = pressure.min().idxmin()
    return node, float(pressure[node].min()), int(pressure[node].idxmin()) / 3600


def _demo_chat(client, message):
    login = client.post("/api/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}).get_json()
    headers = {"Authorization": f"Bearer {login['access_token']}"}
    cid = client.post("/api/chat/conversations", headers=headers, json={}).get_json()["conversation"]["id"]
    resp = client.post(f"/api/chat/conversations/{cid}/messages", headers=headers, json={"message": message})
    assert resp.status_code == 200, resp.get_json()
    return headers, resp.get_json()


def _network_id(app):
    return str(_demo_networks(app)[0].id)


def test_the_guides_first_message_gets_an_engineers_brief(app, client):
    with app.app_context():
        seed(*ADMIN, demo=True)
    node, lowest, hour = _net3_reference()
    headers, body = _demo_chat(client, "你好，帮我分析一下水网系统")
    text = body["reply"]["content"]
    assert text.startswith("【离线助手】") and DEMO_NETWORK_NAME in text
    assert f"节点 {node}" in text and "负压" in text
    assert f"−{abs(lowest):.2f}".rstrip("0") + " m" in text and f"（{hour:g} h）" in text
    assert "可能原因" in text and "建议下一步" in text
    network_id = _network_id(app)
    link = f"/networks?network={network_id}&analysis=hydraulic#map"
    assert f"]({link})" in text
    prose = text.replace(link, "")
    assert network_id not in prose
    assert not re.search(r"[a-z_]+\.[a-z_]+", prose), "no dotted keys"
    for internal in ("run_hydraulic_simulation", "get_network_summary", "list_networks", "junction_count", "time_s"):
        assert internal not in prose
    # Severity order: the negative pressure (critical) comes before any warning or note.
    assert prose.index("**严重**") < prose.index("**注意**") < prose.index("**提示**")
    usage = client.get("/api/tenant/usage", headers=headers).get_json()["usage"]
    totals = usage["totals_this_month"]
    assert totals["offline_messages"] == 1 and totals["messages"] == 1 and totals["tokens"] == 0
    assert usage["quotas"]["tokens_per_month"]["used"] == 0
    assert sum(day["offline_messages"] for day in usage["daily"]) == 1


def test_an_english_question_gets_the_brief_in_english(app, client):
    with app.app_context():
        seed(*ADMIN, demo=True)
    node, lowest, _hour = _net3_reference()
    _headers, body = _demo_chat(client, "Please analyse the pressure in my network")
    text = body["reply"]["content"]
    assert text.startswith("[Offline assistant]") and f"Junction {node} has negative pressure" in text
    assert f"−{abs(lowest):.2f}".rstrip("0") + " m" in text and "What to run next" in text
    assert not re.search(r"[\u4e00-\u9fff]", text.replace(DEMO_NETWORK_NAME, "")), "no Chinese in an English brief"
