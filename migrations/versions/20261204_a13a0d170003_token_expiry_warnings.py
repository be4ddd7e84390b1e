"""API tokens remember when their owner was warned of their expiry

Revision ID: a13a0d170003
Revises: a13a0d170002
Create Date: 2026-12-04 17:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a13a0d170003'
down_revision = 'a13a0d170002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expiry_warned_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('expiry_warned_at')
