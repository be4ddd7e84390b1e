"""partner progress as a fixed vocabulary

Revision ID: a14b0e170008
Revises: a14b0e170007
Create Date: 2026-12-04 19:30:00.000000

Nothing to change in the schema or the rows, on purpose. A partner's progress `status` lives only
in the `report_progress` events (and in the notices and queued mails that repeat it); no column
holds a referral's last status. Events are links of the case's hash chain and are never
rewritten, so a code sent before the vocabulary stays as it was recorded and is mapped when
shown: `odr.referrals.progress.progress_label` reads any code outside the vocabulary as "In
progress". Only new reports are checked against the vocabulary (`odr.referrals.reports`). The
notices and mails go through the same label when they are shown or sent, so they need no update
either. The revision stays so that the chain of revisions is the one every installation has.
"""

# revision identifiers, used by Alembic.
revision = 'a14b0e170008'
down_revision = 'a14b0e170007'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
