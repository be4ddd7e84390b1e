"""the outbox keeps the request id of the message's cause

Revision ID: a16c0e160001
Revises: a14b0e170008
Create Date: 2026-12-05 07:30:00.000000

A webhook carries `X-Request-ID` of the request that caused it, so a partner's report of a
problem can be matched with the platform's log lines. Messages written before have none.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a16c0e160001'
down_revision = 'a14b0e170008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.String(length=128), nullable=True))


def downgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('request_id')
