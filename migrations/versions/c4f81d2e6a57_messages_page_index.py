"""Messages: one tenant-leading page index instead of (conversation, time) + (tenant).

With ``tenant_id = … AND conversation_id = …`` (the ORM scoping adds the
tenant to every query) PostgreSQL multiplied the two selectivities, expected
a handful of rows and answered "the latest 40 messages" of a long
conversation with a bitmap scan of all of it plus a sort: 26 ms at 12,000
messages.  An index leading with both columns is walked backwards and stops
after 40 rows whatever the length.  It also serves tenant-wide lookups, so
the single-column tenant index goes.

The index on ``created_at`` alone goes too: nothing looks messages up by time
across conversations, and with the RLS policy's selectivity guessed at
~0.5 % the planner took it for deep history pages (walking the time index
of every tenant and filtering) instead of the conversation's own index.

Revision ID: c4f81d2e6a57
Revises: b7e3c1a9d2f0
"""
from alembic import op

revision = "c4f81d2e6a57"
down_revision = "b7e3c1a9d2f0"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_page", ["tenant_id", "conversation_id", "created_at", "id"], unique=False)
        batch_op.drop_index("ix_messages_conversation_page")
        batch_op.drop_index("ix_messages_tenant_id")
        batch_op.drop_index("ix_messages_created_at")


def downgrade():
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_messages_tenant_id", ["tenant_id"], unique=False)
        batch_op.create_index("ix_messages_conversation_page", ["conversation_id", "created_at", "id"], unique=False)
        batch_op.drop_index("ix_messages_page")
