"""evidence captions and thumbnails

Revision ID: a14b0e170006
Revises: a14b0e170005
Create Date: 2026-12-04 19:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a14b0e170006'
down_revision = 'a14b0e170005'
branch_labels = None
depends_on = None


OLD_TYPES = ('application/pdf', 'image/png', 'image/jpeg', 'image/webp', 'text/plain')
NEW_TYPES = OLD_TYPES + ('image/heic', 'video/mp4', 'video/quicktime')


def _types(types):
    return "media_type IN (" + ", ".join(f"'{t}'" for t in types) + ")"


def upgrade():
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.add_column(sa.Column('caption', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('thumbnail_sha256', sa.String(length=64), nullable=True))
        batch_op.drop_constraint(batch_op.f('ck_evidence_media_type_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_evidence_media_type_known'), _types(NEW_TYPES))


def downgrade():
    added = op.get_bind().scalar(sa.text(
        "SELECT count(*) FROM evidence WHERE media_type IN ('image/heic', 'video/mp4', 'video/quicktime')"
    ))
    if added:
        raise RuntimeError(f"{added} evidence files are HEIC photos or videos, which the older schema cannot hold")
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_evidence_media_type_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_evidence_media_type_known'), _types(OLD_TYPES))
        batch_op.drop_column('thumbnail_sha256')
        batch_op.drop_column('caption')
