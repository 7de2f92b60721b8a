"""A tenant's analysis defaults (storeys, fire flow, leak size, …), with Row-Level Security like every tenant table.

Revision ID: d5a3f0c8b142
Revises: e91a4c7b3d26
"""
import sqlalchemy as sa
from alembic import op

revision = "d5a3f0c8b142"
down_revision = "e91a4c7b3d26"
branch_labels = None
depends_on = None

ALL = "current_setting('app.all_tenants', true) = 'on'"
MINE = "tenant_id::text = current_setting('app.tenant_id', true)"


def upgrade():
    op.create_table(
        "analysis_defaults",
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_analysis_defaults_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"], name=op.f("fk_analysis_defaults_updated_by_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_defaults")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_analysis_defaults_tenant_id")),
    )
    with op.batch_alter_table("analysis_defaults", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analysis_defaults_tenant_id"), ["tenant_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE analysis_defaults ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_isolation ON analysis_defaults USING ({ALL} OR {MINE}) "
                   f"WITH CHECK ({ALL} OR {MINE})")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP POLICY IF EXISTS tenant_isolation ON analysis_defaults")
    with op.batch_alter_table("analysis_defaults", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analysis_defaults_tenant_id"))
    op.drop_table("analysis_defaults")
