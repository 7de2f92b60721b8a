"""Usage: count offline-assistant answers apart (they use no model tokens).

Revision ID: e91a4c7b3d26
Revises: 55bfd8eefe0b
"""
import sqlalchemy as sa
from alembic import op

revision = "e91a4c7b3d26"
down_revision = "55bfd8eefe0b"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("usage_daily", schema=None) as batch_op:
        batch_op.add_column(sa.Column("offline_messages", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("usage_daily", schema=None) as batch_op:
        batch_op.drop_column("offline_messages")
