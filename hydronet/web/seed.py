"""Idempotent seed data: the platform tenant and admin, the demo tenant and user.

The demo account has a published password, so it exists only where it is wanted:
with DEBUG on, or when SEED_DEMO=true (the embedded quick start, scripts/dev.sh).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from hydronet.auth import passwords
from hydronet.auth.accounts import DEFAULT_ADMIN_PASSWORD
from hydronet.auth.actor import SYSTEM
from hydronet.kernel import audit
from hydronet.kernel.db import db
from hydronet.kernel.tenancy import all_tenants
from hydronet.models import Network, Tenant, User
from hydronet.water.loader import content_hash, load_bundled, parse_inp
from hydronet.water.summary import summary

log = logging.getLogger(__name__)

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo123"
DEMO_NETWORK_EXAMPLE = "Net3"
DEMO_NETWORK_NAME = "演示管网 Net3"


@dataclass
class SeedResult:
    """What the seed created (False = already there)."""

    admin_email: str
    admin_password_shown: str
    admin_created: bool
    demo_created: bool
    demo_seeded: bool = True  # False: the demo account was not wanted (production without SEED_DEMO)


def _tenant(slug: str, name: str, plan: str, platform: bool) -> tuple[Tenant, bool]:
    tenant = db.session.execute(select(Tenant).where(Tenant.slug == slug)).scalar_one_or_none()
    if tenant:
        return tenant, False
    tenant = Tenant(name=name, slug=slug, plan=plan, status="active", is_platform=platform)
    db.session.add(tenant)
    db.session.flush()
    return tenant, True


def _user(tenant: Tenant, email: str, password: str, role: str, name: str, platform_admin: bool) -> bool:
    if db.session.execute(select(User.id).where(User.email == email)).first():
        return False
    user = User(
        tenant_id=tenant.id,
        email=email,
        name=name,
        role=role,
        is_platform_admin=platform_admin,
        password_hash=passwords.hash_password(password),
        password_change_required=platform_admin and password == DEFAULT_ADMIN_PASSWORD,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(
        SYSTEM,
        "user.create",
        target_type="user",
        target_id=user.id,
        tenant_id=tenant.id,
        details={"email": email, "role": role, "seed": True},
    )
    return True


def demo_wanted(config: Mapping[str, Any]) -> bool:
    """The demo account is for development and the quick start, never a silent production default."""
    return bool(config.get("DEBUG") or config.get("SEED_DEMO"))


def seed_demo_network(demo: Tenant) -> bool:
    """Give the demo tenant WNTR's Net3 example so the guide's first question gets a real analysis.

    Keyed by name within the tenant: a network the demo user renamed or deleted is not re-added
    under the same name twice, and a second run changes nothing.
    """
    exists = db.session.execute(
        select(Network.id).where(Network.tenant_id == demo.id, Network.name == DEMO_NETWORK_NAME)
    ).first()
    if exists:
        return False
    text = load_bundled(DEMO_NETWORK_EXAMPLE)
    wn = parse_inp(text, name=DEMO_NETWORK_NAME)
    size = len(text.encode("utf-8"))
    network = Network(
        tenant_id=demo.id,
        name=DEMO_NETWORK_NAME,
        filename=f"{DEMO_NETWORK_EXAMPLE}.inp",
        source="example",
        inp_text=text,
        content_hash=content_hash(text),
        size_bytes=size,
        summary={**summary(wn), "name": DEMO_NETWORK_NAME},
    )
    db.session.add(network)
    db.session.flush()
    audit.record(
        SYSTEM,
        "network.import",
        target_type="network",
        target_id=network.id,
        tenant_id=demo.id,
        details={"name": DEMO_NETWORK_NAME, "size_bytes": size, "source": "example", "seed": True},
    )
    return True


def seed(admin_email: str, admin_password: str | None, *, demo: bool = False) -> SeedResult:
    """Create what is missing (the demo tenant and user only with ``demo``); a second run changes nothing."""
    password = admin_password or DEFAULT_ADMIN_PASSWORD
    demo_created = False
    with all_tenants(db.session):
        platform, _ = _tenant("platform", "HydroNet Platform", "enterprise", True)
        admin_created = _user(platform, admin_email, password, "owner", "System Administrator", True)
        if demo:
            demo_tenant, _ = _tenant("demo", "演示水务公司", "basic", False)
            demo_created = _user(demo_tenant, DEMO_EMAIL, DEMO_PASSWORD, "owner", "Demo User", False)
            seed_demo_network(demo_tenant)
    db.session.commit()
    if password == DEFAULT_ADMIN_PASSWORD:
        log.warning("the platform admin uses the well-known default password; set ADMIN_PASSWORD or change it")
    return SeedResult(admin_email, password, admin_created, demo_created, demo)
