"""the keyed audit chain and the security events log

Revision ID: a13a0d170001
Revises: b3f1e8a9c2d4
Create Date: 2026-12-04 17:00:00.000000

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = 'a13a0d170001'
down_revision = 'b3f1e8a9c2d4'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
