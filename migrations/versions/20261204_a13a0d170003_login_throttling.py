"""log-in throttling and known devices

Revision ID: a13a0d170003
Revises: a13a0d170002
Create Date: 2026-12-04 17:00:00.000000

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = 'a13a0d170003'
down_revision = 'a13a0d170002'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
