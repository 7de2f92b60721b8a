"""The demo tenant's network and the offline assistant's brief on it (the guide's first question)."""
from __future__ import annotations

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
        seed(*ADMIN)
        seed(*ADMIN)
    networks = _demo_networks(app)
    assert [n.name for n in networks] == [DEMO_NETWORK_NAME]
    reference = wntr.network.WaterNetworkModel(str(NET3))
    counts = networks[0].summary["counts"]
    assert counts["junctions"] == reference.num_junctions and counts["tanks"] == reference.num_tanks
    assert counts["pipes"] == reference.num_pipes and counts["pumps"] == reference.num_pumps
    with app.app_context(), all_tenants(db.session):
        imports = db.session.execute(select(AuditLog).where(AuditLog.action == "network.import")).scalars().all()
    assert len(imports) == 1 and imports[0].details["name"] == DEMO_NETWORK_NAME
