"""API token scopes and expiry; sign-up verification

Every token gets scopes and an expiry. Tokens already made keep working as before: the full
scopes of their owner's role (a partner's `read` and `partner`, anyone else's `read` and `write`)
and 90 days from this migration when they had no expiry. A token of an account whose address was
never confirmed is revoked: such an account may no longer hold one (anyone could have signed up
with that address).

Revision ID: a13a0d170002
Revises: a13a0d170001
Create Date: 2026-12-04 17:00:00.000000

"""
from datetime import datetime, timedelta, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a13a0d170002'
down_revision = 'a13a0d170001'
branch_labels = None
depends_on = None

users = sa.table(
    'users',
    sa.column('id', sa.Integer),
    sa.column('role', sa.String),
    sa.column('email_verified_at', sa.DateTime),
)
api_tokens = sa.table(
    'api_tokens',
    sa.column('user_id', sa.Integer),
    sa.column('scopes', sa.JSON),
    sa.column('expires_at', sa.DateTime),
    sa.column('revoked_at', sa.DateTime),
)


def upgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scopes', sa.JSON(), nullable=True))

    now = datetime.now(timezone.utc).replace(tzinfo=None)  # stored as naive UTC
    partners = sa.select(users.c.id).where(users.c.role == 'partner')
    op.execute(
        api_tokens.update()
        .where(api_tokens.c.user_id.in_(partners))
        .values(scopes=['read', 'partner'])
    )
    op.execute(
        api_tokens.update()
        .where(api_tokens.c.user_id.not_in(partners))
        .values(scopes=['read', 'write'])
    )
    op.execute(
        api_tokens.update()
        .where(api_tokens.c.expires_at.is_(None))
        .values(expires_at=now + timedelta(days=90))
    )
    unconfirmed = sa.select(users.c.id).where(users.c.email_verified_at.is_(None))
    op.execute(
        api_tokens.update()
        .where(api_tokens.c.user_id.in_(unconfirmed), api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('scopes', existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column('expires_at', existing_type=sa.DateTime(), nullable=False)


def downgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=sa.DateTime(), nullable=True)
        batch_op.drop_column('scopes')
