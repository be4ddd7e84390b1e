"""A neutral's caseload kept on their row

Revision ID: 7c1d2e3f4a5b
Revises: 23f49a414b6a
Create Date: 2026-12-02 08:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "7c1d2e3f4a5b"
down_revision = "23f49a414b6a"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("caseload", sa.Integer(), server_default="0", nullable=False))
    op.execute(
        "UPDATE users SET caseload = (SELECT count(*) FROM cases WHERE "
        "(cases.mediator_id = users.id AND cases.state = 'mediation') OR "
        "(cases.arbitrator_id = users.id AND cases.state = 'arbitration'))"
    )


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("caseload")
