"""Analysis jobs split into chunks: a chunk is a job row pointing at its sweep's parent job.

A long sweep queued on RQ is split into chunk rows (``parent_id`` set) that any worker claims,
heartbeats and, when lost with its worker, runs again like any job; the parent aggregates them.

Revision ID: d5e2a7c40b91
Revises: d5a3f0c8b142
"""
import sqlalchemy as sa
from alembic import op

revision = "d5e2a7c40b91"
down_revision = "d5a3f0c8b142"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("analysis_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_analysis_jobs_parent_id_analysis_jobs"), "analysis_jobs",
                                    ["parent_id"], ["id"], ondelete="CASCADE")
        batch_op.create_index(batch_op.f("ix_analysis_jobs_parent_id"), ["parent_id"], unique=False)


def downgrade():
    with op.batch_alter_table("analysis_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analysis_jobs_parent_id"))
        batch_op.drop_constraint(batch_op.f("fk_analysis_jobs_parent_id_analysis_jobs"), type_="foreignkey")
        batch_op.drop_column("parent_id")
