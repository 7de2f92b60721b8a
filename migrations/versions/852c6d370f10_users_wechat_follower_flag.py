"""users.is_wechat_follower: WeChat followers' automatic accounts are marked by a column.

Seats used to be told apart by the synthetic email domain, which anyone creating a
user could type.  Existing followers' users (that domain, no password, no pending
invitation — nobody can sign in as them) are marked; accounts that merely carry
the domain but have a password or an invitation are people and keep counting.

Revision ID: 852c6d370f10
Revises: c4f81d2e6a57
"""
import sqlalchemy as sa
from alembic import op

revision = "852c6d370f10"
down_revision = "c4f81d2e6a57"
branch_labels = None
depends_on = None

SYNTHETIC_DOMAIN = "wechat.hydronet.local"  # as it stood when followers were told apart by email


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_wechat_follower", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    users = sa.table("users", sa.column("email", sa.String), sa.column("password_hash", sa.String),
                     sa.column("invite_token_hash", sa.String), sa.column("is_wechat_follower", sa.Boolean))
    op.execute(users.update()
               .where(users.c.email.like(f"%@{SYNTHETIC_DOMAIN}"), users.c.password_hash.is_(None),
                      users.c.invite_token_hash.is_(None))
               .values(is_wechat_follower=True))


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("is_wechat_follower")
