"""API token scopes and expiry; sign-up verification

Revision ID: a13a0d170002
Revises: a13a0d170001
Create Date: 2026-12-04 17:00:00.000000

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = 'a13a0d170002'
down_revision = 'a13a0d170001'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
