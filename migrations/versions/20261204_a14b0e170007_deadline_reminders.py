"""deadline reminders 48 hours ahead

Revision ID: a14b0e170007
Revises: a14b0e170006
Create Date: 2026-12-04 19:30:00.000000

Each case remembers the deadline whose 48-hour reminder was sent, so the sweep sends one reminder
per deadline. Open cases start with none: a deadline already within 48 hours at the upgrade gets
its reminder at the next sweep.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a14b0e170007'
down_revision = 'a14b0e170006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminded_deadline_at', sa.DateTime(), nullable=True))


def downgrade():
    # SQLite (3.35+) drops a plain column in place: copying `cases` anew would trip the foreign
    # keys of the rows that point at it.
    with op.batch_alter_table('cases', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('reminded_deadline_at')
