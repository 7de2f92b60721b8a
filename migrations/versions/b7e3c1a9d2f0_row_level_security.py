"""Row-Level Security on every tenant-owned table (PostgreSQL only).

A second wall behind the ORM scoping in hydronet/tenancy.py: the app role
(which neither owns the tables nor has BYPASSRLS) only sees rows whose
tenant_id equals the transaction-local setting app.tenant_id, unless the
transaction explicitly enabled app.all_tenants (the audited platform-admin
and sign-in escape).  The table owner (migrations, backups) is not subject
to these policies.

Revision ID: b7e3c1a9d2f0
Revises: 20ca06d10372
"""
from alembic import op

revision = "b7e3c1a9d2f0"
down_revision = "20ca06d10372"
branch_labels = None
depends_on = None

TENANT_TABLES = (
    "users", "conversations", "messages", "usage_records", "usage_daily", "api_keys", "networks",
    "analysis_jobs", "mcp_servers", "wechat_accounts", "wechat_followers", "wechat_bind_codes",
)
ALL = "current_setting('app.all_tenants', true) = 'on'"
MINE = "tenant_id::text = current_setting('app.tenant_id', true)"


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite (embedded mode) keeps the application-level wall alone
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({ALL} OR {MINE}) WITH CHECK ({ALL} OR {MINE})")
    op.execute("ALTER TABLE audit_logs ENABLE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY audit_read ON audit_logs FOR SELECT USING ({ALL} OR {MINE})")
    # Entries without a tenant (e.g. a failed sign-in for an unknown email) may be appended by anyone.
    op.execute(f"CREATE POLICY audit_append ON audit_logs FOR INSERT WITH CHECK ({ALL} OR {MINE} OR tenant_id IS NULL)")
    op.execute(f"CREATE POLICY audit_archive ON audit_logs FOR DELETE USING ({ALL})")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TENANT_TABLES:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    for policy in ("audit_read", "audit_append", "audit_archive"):
        op.execute(f"DROP POLICY IF EXISTS {policy} ON audit_logs")
    op.execute("ALTER TABLE audit_logs DISABLE ROW LEVEL SECURITY")
