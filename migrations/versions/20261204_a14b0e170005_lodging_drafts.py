"""lodging drafts kept per user

Revision ID: a14b0e170005
Revises: a13a0d170004
Create Date: 2026-12-04 19:30:00.000000

A draft of the lodging form per account, and the stash of a form posted by a browser whose
session had ended, until a log-in there makes it that account's draft (odr/cases/drafts.py).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a14b0e170005'
down_revision = 'a13a0d170004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('lodging_drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_lodging_drafts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lodging_drafts')),
    sa.UniqueConstraint('user_id', name=op.f('uq_lodging_drafts_user_id'))
    )
    with op.batch_alter_table('lodging_drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lodging_drafts_updated_at'), ['updated_at'], unique=False)

    op.create_table('lodging_stashes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_lodging_stashes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lodging_stashes')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_lodging_stashes_key_hash'))
    )
    with op.batch_alter_table('lodging_stashes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lodging_stashes_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_lodging_stashes_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('lodging_stashes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lodging_stashes_user_id'))
        batch_op.drop_index(batch_op.f('ix_lodging_stashes_created_at'))

    op.drop_table('lodging_stashes')
    with op.batch_alter_table('lodging_drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lodging_drafts_updated_at'))

    op.drop_table('lodging_drafts')
