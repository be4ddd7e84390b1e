"""the outbox indexes only the messages waiting to go and those given up

Revision ID: a16c0e160002
Revises: a16c0e160001
Create Date: 2026-12-06 03:40:00.000000

The delivery's walk reads the waiting messages by their next attempt, and the case managers'
page the dead ones newest first; the messages delivered (nearly all of them) need neither index.
A partial index holds only what is read: every new message costs one index entry fewer, and the
indexes stay the size of the queue rather than of the history.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a16c0e160002'
down_revision = 'a16c0e160001'
branch_labels = None
depends_on = None

WAITING = "delivered_at IS NULL AND dead_at IS NULL"
DEAD = "dead_at IS NOT NULL"


def upgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_due')
        batch_op.drop_index('ix_outbox_dead')
        batch_op.create_index(
            'ix_outbox_due', ['next_attempt_at'], unique=False,
            postgresql_where=sa.text(WAITING), sqlite_where=sa.text(WAITING),
        )
        batch_op.create_index(
            'ix_outbox_dead', ['id'], unique=False,
            postgresql_where=sa.text(DEAD), sqlite_where=sa.text(DEAD),
        )


def downgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_dead')
        batch_op.drop_index('ix_outbox_due')
        batch_op.create_index('ix_outbox_dead', ['dead_at'], unique=False)
        batch_op.create_index(
            'ix_outbox_due', ['delivered_at', 'dead_at', 'next_attempt_at'], unique=False
        )
