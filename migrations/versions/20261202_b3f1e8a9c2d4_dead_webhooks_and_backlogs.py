"""indexes for dead webhooks and partner backlogs

Revision ID: b3f1e8a9c2d4
Revises: 9e4b7a2c51d0
Create Date: 2026-12-02 16:05:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b3f1e8a9c2d4'
down_revision = '9e4b7a2c51d0'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_dead', ['dead_at'], unique=False)
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index('ix_referrals_partner_id_status', ['partner_id', 'status'], unique=False)


def downgrade():
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_partner_id_status')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_dead')
