"""Analysis jobs: a heartbeat stamped while running, and the number of attempts.

A running job whose heartbeat went stale lost its worker (killed, machine
gone): it is queued again once, then failed with the reason.

Revision ID: 55bfd8eefe0b
Revises: 852c6d370f10
"""
import sqlalchemy as sa
from alembic import op

revision = "55bfd8eefe0b"
down_revision = "852c6d370f10"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("analysis_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))


def downgrade():
    with op.batch_alter_table("analysis_jobs", schema=None) as batch_op:
        batch_op.drop_column("attempts")
        batch_op.drop_column("heartbeat_at")
