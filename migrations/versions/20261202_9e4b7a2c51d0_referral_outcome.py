"""referral outcome

Revision ID: 9e4b7a2c51d0
Revises: 1ad447676b5f
Create Date: 2026-12-02 14:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9e4b7a2c51d0'
down_revision = '1ad447676b5f'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('outcome_digest', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_column('closed_at')
        batch_op.drop_column('outcome_digest')
        batch_op.drop_column('outcome')
