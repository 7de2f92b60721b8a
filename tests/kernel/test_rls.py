"""PostgreSQL Row-Level Security: the second wall, proven with the app's own role.

The app connects as a role that neither owns the tables nor bypasses RLS;
migrations run as the owner.  A query written without any tenant filter —
raw SQL or ORM with the application's scoping switched off — still sees only
the current tenant's rows.
"""

from __future__ import annotations

import csv
import io
import os
import uuid

import psycopg2
import pytest
from sqlalchemy import select, text

from hydronet.kernel.db import db
from hydronet.kernel.tenancy import all_tenants, bind_tenant
from hydronet.models import Conversation
from tests.support.backends import provision_role_database

pytestmark = pytest.mark.skipif(
    not os.environ.get("HYDRONET_TEST_DATABASE_URL"),
    reason="Row-Level Security exists on PostgreSQL only (embedded SQLite keeps the ORM wall)",
)


@pytest.fixture(scope="module")
def rls(backends):
    rd = provision_role_database(backends.admin_url, str(os.getpid()))
    from hydronet.web.app import create_app
    from hydronet.web.cli import upgrade_locked

    app = create_app(
        backends.app_config(
            DATABASE_URL=rd.app_url,
            DATABASE_OWNER_URL=rd.owner_url,
            RATELIMIT_REGISTER="1000 per minute",
            RATELIMIT_LOGIN="1000 per minute",
        )
    )
    with app.app_context():
        upgrade_locked()
    yield app, rd
    with app.app_context():
        db.engine.dispose()
    rd.drop()


@pytest.fixture
def rls_app(rls):
    app, rd = rls
    yield app
    from hydronet.auth.ratelimit import limiter

    with app.app_context():
        limiter.reset()
        store = app.extensions["hydronet_store"]
        if store.kind == "redis":
            store.client.flushdb()
    conn = psycopg2.connect(rd.url(rd.owner))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename != 'alembic_version'")
        tables = [r[0] for r in cur.fetchall()]
        cur.execute("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE")
    conn.close()


def test_app_role_cannot_bypass_rls_and_owns_nothing(rls):
    app, rd = rls
    with app.app_context():
        row = db.session.execute(text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")).one()
        assert tuple(row) == (False, False)
        owned = db.session.execute(
            text("SELECT count(*) FROM pg_tables WHERE schemaname='public' AND tableowner = current_user")
        ).scalar()
        assert owned == 0
        rls_off = db.session.execute(
            text(
                "SELECT relname FROM pg_class WHERE relname IN ('users','conversations','messages','networks','api_keys',"
                "'usage_records','audit_logs','analysis_defaults') AND NOT relrowsecurity"
            )
        ).all()
        assert rls_off == []


def _register(client, email, tenant):
    resp = client.post("/api/auth/register", json={"email": email, "password": "Test@123", "tenant_name": tenant})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    return {"Authorization": f"Bearer {body['access_token']}"}, body


def test_full_flow_works_under_rls(rls_app):
    client = rls_app.test_client()
    a_headers, a = _register(client, "a@alpha.example.com", "Alpha")
    b_headers, _b = _register(client, "b@beta.example.com", "Beta")
    login = client.post("/api/auth/login", json={"email": "a@alpha.example.com", "password": "Test@123"})
    assert login.status_code == 200
    assert (
        client.post("/api/auth/login", json={"email": "a@alpha.example.com", "password": "nope-nope"}).status_code
        == 401
    )
    cid = client.post("/api/chat/conversations", headers=a_headers, json={"title": "A"}).get_json()["conversation"][
        "id"
    ]
    turn = client.post(f"/api/chat/conversations/{cid}/messages", headers=a_headers, json={"message": "你好"})
    assert turn.status_code == 200, turn.get_json()
    assert client.get(f"/api/chat/conversations/{cid}", headers=b_headers).status_code == 404
    key = client.post("/api/tenant/api-keys", headers=a_headers, json={"name": "k", "scopes": ["chat"]}).get_json()[
        "key"
    ]
    assert client.get("/api/tenant/info", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    logs = client.get("/api/tenant/audit-logs", headers=a_headers).get_json()["logs"]
    assert logs and all(e["tenant_id"] == a["tenant"]["id"] for e in logs)
    usage = client.get("/api/tenant/usage", headers=a_headers).get_json()["usage"]
    assert usage["quotas"]["messages_per_day"]["used"] == 1


def test_unfiltered_queries_see_only_current_tenant(rls_app):
    client = rls_app.test_client()
    a_headers, a = _register(client, "a2@alpha.example.com", "Alpha")
    b_headers, b = _register(client, "b2@beta.example.com", "Beta")
    client.post("/api/chat/conversations", headers=a_headers, json={"title": "A-secret"})
    client.post("/api/chat/conversations", headers=b_headers, json={"title": "B-secret"})
    import uuid

    with rls_app.app_context():
        bind_tenant(db.session, uuid.UUID(a["tenant"]["id"]))
        raw = db.session.execute(text("SELECT title FROM conversations")).scalars().all()
        assert raw == ["A-secret"]
        # ORM with the application's scoping explicitly switched off for this statement:
        orm = db.session.execute(select(Conversation.title).execution_options(all_tenants=True)).scalars().all()
        assert orm == ["A-secret"]
        users = db.session.execute(text("SELECT email FROM users")).scalars().all()
        assert users == ["a2@alpha.example.com"]
    with rls_app.app_context():
        # no tenant bound at all: nothing is visible
        assert db.session.execute(text("SELECT count(*) FROM conversations")).scalar() == 0
    with rls_app.app_context(), all_tenants(db.session):
        # the explicit, audited escape used by platform-admin code
        assert db.session.execute(text("SELECT count(*) FROM conversations")).scalar() == 2


def test_writes_into_another_tenant_are_refused_by_the_database(rls_app):
    client = rls_app.test_client()
    _register(client, "a3@alpha.example.com", "Alpha")
    _hb, b = _register(client, "b3@beta.example.com", "Beta")
    import uuid

    from sqlalchemy.exc import DBAPIError

    with rls_app.app_context():
        a_tenant = db.session.execute(text("SELECT id FROM tenants WHERE name='Alpha'")).scalar()
        bind_tenant(db.session, a_tenant)
        with pytest.raises(DBAPIError, match="row-level security"):
            db.session.execute(
                text(
                    "INSERT INTO conversations (id, tenant_id, user_id, title, archived, channel, message_count, created_at, updated_at)"
                    " VALUES (:id, :tid, :uid, 'evil', false, 'web', 0, now(), now())"
                ),
                {"id": uuid.uuid4(), "tid": uuid.UUID(b["tenant"]["id"]), "uid": uuid.UUID(b["user"]["id"])},
            )
        db.session.rollback()


def test_platform_admin_crosses_tenants_explicitly(rls_app):
    client = rls_app.test_client()
    _register(client, "a4@alpha.example.com", "Alpha")
    from hydronet.web.seed import seed

    with rls_app.app_context():
        seed("admin@hydronet.com", "Admin-Pass-2026!", demo=True)
    admin = client.post(
        "/api/auth/login", json={"email": "admin@hydronet.com", "password": "Admin-Pass-2026!"}
    ).get_json()
    h = {"Authorization": f"Bearer {admin['access_token']}"}
    tenants = client.get("/api/admin/tenants", headers=h).get_json()["tenants"]
    assert {t["name"] for t in tenants} >= {"Alpha", "演示水务公司"}
    alpha = next(t for t in tenants if t["name"] == "Alpha")
    assert alpha["users"] == 1
    verify = client.get(f"/api/admin/audit-logs/verify?tenant_id={alpha['id']}", headers=h).get_json()
    assert verify["valid"] is True and verify["checked"] >= 2
    logs = client.get(f"/api/admin/audit-logs?tenant_id={alpha['id']}", headers=h).get_json()["logs"]
    assert any(e["action"] == "auth.register" for e in logs)


def test_rls_settings_ride_with_the_first_statement_whatever_its_shape(rls_app):
    """tenancy.install_engine: prefixed to a parametrised first statement, sent apart otherwise."""
    client = rls_app.test_client()
    _ha, a = _register(client, "a5@alpha.example.com", "Alpha")
    a_headers, _ = _ha, a
    hb, _b = _register(client, "b5@beta.example.com", "Beta")
    client.post("/api/chat/conversations", headers=a_headers, json={"title": "A-50%"})
    client.post("/api/chat/conversations", headers=hb, json={"title": "B-50%"})
    import uuid

    tenant_a = uuid.UUID(a["tenant"]["id"])
    with rls_app.app_context():
        bind_tenant(db.session, tenant_a)
        # parameters and a literal percent sign in the same first statement (the prefixed path)
        rows = (
            db.session.execute(
                text("SELECT title FROM conversations WHERE title LIKE '%50%' AND title <> :x"), {"x": "none"}
            )
            .scalars()
            .all()
        )
        assert rows == ["A-50%"]
        assert db.session.execute(text("SELECT count(*) FROM conversations")).scalar() == 1
    with rls_app.app_context():
        bind_tenant(db.session, tenant_a)
        # an executemany first: settings sent on their own, then the statement
        db.session.execute(text("SELECT :v"), [{"v": 1}, {"v": 2}])
        assert db.session.execute(text("SELECT title FROM conversations")).scalars().all() == ["A-50%"]
    with rls_app.app_context():
        bind_tenant(db.session, tenant_a)
        db.session.connection()  # a transaction that never sends a statement
        db.session.commit()
        db.session.remove()
        with db.engine.connect() as raw:  # the same pooled connection, outside any session
            assert raw.execute(text("SELECT current_setting('app.tenant_id', true)")).scalar() in (None, "")
            assert raw.execute(text("SELECT count(*) FROM conversations")).scalar() == 0


def test_tenant_audit_csv_export_streams_the_tenants_rows_under_rls(rls_app):
    """The CSV is streamed after the view returns: the tenant binding must hold inside the generator."""
    client = rls_app.test_client()
    a_headers, _a = _register(client, "csv-a@alpha.example.com", "Alpha CSV")
    b_headers, _b = _register(client, "csv-b@beta.example.com", "Beta CSV")
    as_json = client.get("/api/tenant/audit-logs?limit=200", headers=a_headers).get_json()["logs"]
    assert as_json
    resp = client.get("/api/tenant/audit-logs?format=csv", headers=a_headers)
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert sorted(r["id"] for r in rows) == sorted(str(e["id"]) for e in as_json)
    assert {r["action"] for r in rows} >= {"tenant.create", "auth.register"}
    assert "csv-b@beta.example.com" not in resp.get_data(as_text=True)


def _rls_users() -> int:
    """Users visible to raw SQL (no ORM scoping) in the current transaction: what RLS lets through."""
    return db.session.execute(text("SELECT count(*) FROM users")).scalar_one()


def test_the_escape_covers_its_block_only_whenever_it_is_entered(rls_app):
    """all_tenants() flips app.all_tenants for its block alone, entered before or after the first statement."""
    client = rls_app.test_client()
    _a_headers, a = _register(client, "esc-a@alpha.example.com", "Alpha Esc")
    _register(client, "esc-b@beta.example.com", "Beta Esc")
    tenant_a = uuid.UUID(a["tenant"]["id"])
    with rls_app.app_context():
        bind_tenant(db.session, tenant_a)
        assert _rls_users() == 1  # the transaction's first statement: tenant A only
        with all_tenants(db.session):  # entered after it
            assert _rls_users() == 2
            with all_tenants(db.session):
                assert _rls_users() == 2
            assert _rls_users() == 2  # an inner exit leaves the outer escape on
        assert _rls_users() == 1  # left within the same transaction
        db.session.rollback()
        with all_tenants(db.session):  # entered before the next transaction's first statement
            assert _rls_users() == 2
        assert _rls_users() == 1
        assert db.session.execute(text("SELECT current_setting('app.all_tenants', true)")).scalar() == "off"
        db.session.rollback()
        assert _rls_users() == 1  # a new transaction starts bound to the tenant, escape off


def test_analysis_defaults_are_one_tenants_own_under_rls(rls_app):
    """Set through the API as the app role; raw SQL bound to the other tenant sees none of them."""
    client = rls_app.test_client()
    a_headers, a = _register(client, "def-a@alpha.example.com", "Alpha Defaults")
    b_headers, b = _register(client, "def-b@beta.example.com", "Beta Defaults")
    resp = client.put("/api/tenant/analysis-defaults", headers=a_headers, json={"storeys": 4})
    assert resp.status_code == 200, resp.get_json()
    assert (
        client.get("/api/tenant/analysis-defaults", headers=b_headers).get_json()["analysis_defaults"]["overrides"]
        == {}
    )
    with rls_app.app_context():
        bind_tenant(db.session, uuid.UUID(b["tenant"]["id"]))
        assert db.session.execute(text("SELECT count(*) FROM analysis_defaults")).scalar() == 0
        db.session.rollback()
        bind_tenant(db.session, uuid.UUID(a["tenant"]["id"]))
        assert db.session.execute(text("SELECT count(*) FROM analysis_defaults")).scalar() == 1


def test_the_database_wall_follows_every_rebinding_within_a_transaction(rls_app):
    """bind_tenant moves app.tenant_id at once: to another tenant, to none (nothing visible), out of an escape."""
    client = rls_app.test_client()
    _ha, a = _register(client, "bind-a@alpha.example.com", "Alpha Bind")
    _hb, b = _register(client, "bind-b@beta.example.com", "Beta Bind")
    tenant_a, tenant_b = uuid.UUID(a["tenant"]["id"]), uuid.UUID(b["tenant"]["id"])

    def emails():
        return db.session.execute(text("SELECT email FROM users ORDER BY email")).scalars().all()

    with rls_app.app_context():
        bind_tenant(db.session, tenant_a)
        assert emails() == ["bind-a@alpha.example.com"]  # the transaction's first statement
        bind_tenant(db.session, tenant_b)
        assert emails() == ["bind-b@beta.example.com"]
        bind_tenant(db.session, None)
        assert emails() == []  # unbound: the previous tenant's rows are gone too
        with all_tenants(db.session):
            assert len(emails()) == 2
            bind_tenant(db.session, tenant_a)  # a binding ends the escape, in the database as in the ORM
            assert emails() == ["bind-a@alpha.example.com"]
        assert emails() == ["bind-a@alpha.example.com"]
        db.session.rollback()


def test_on_a_new_psycopg2_engine_the_settings_and_the_first_statement_are_one_trip(rls_app, rls):
    """install_engine prefixes a transaction's RLS settings to its first statement (one cursor execute)."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.orm import sessionmaker

    from hydronet.kernel import tenancy

    client = rls_app.test_client()
    _h, a = _register(client, "trip-a@alpha.example.com", "Alpha Trip")
    _register(client, "trip-b@beta.example.com", "Beta Trip")
    _app, rd = rls
    engine = create_engine(rd.app_url.replace("postgresql://", "postgresql+psycopg2://", 1))
    tenancy.install_engine(engine)
    tenancy.install_engine(engine)  # once per engine
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    engine.connect().close()  # the dialect's own first-connect queries
    session = sessionmaker(bind=engine)()
    try:
        bind_tenant(session, uuid.UUID(a["tenant"]["id"]))
        sent.clear()
        count = session.execute(text("SELECT count(*) FROM users WHERE email <> :x"), {"x": "-"}).scalar_one()
        assert count == 1
        assert len(sent) == 1 and sent[0].startswith("SELECT set_config('app.tenant_id'"), sent
    finally:
        session.close()
        engine.dispose()
