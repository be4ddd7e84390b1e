"""the keyed audit chain and the security events log

Revision ID: a13a0d170001
Revises: b3f1e8a9c2d4
Create Date: 2026-12-04 17:00:00.000000

The case event chains move from plain SHA-256 to HMAC-SHA256 under the audit key here, once: each
chain is first verified as it was written (SHA-256) and then re-chained under the key, so that no
code reads a SHA-256 chain afterwards (a verifier that accepted both could be fooled by relabelling
a rewritten chain as an old one). A chain that is already broken is left as it is and named in the
log; `audit verify` then reports it. The key comes from the app's configuration (`ODR_AUDIT_KEY`
or `audit.key` in the instance folder), as `flask db upgrade` runs inside the app. The downgrade
re-chains the other way, after verifying the keyed chains.

The hash formula is copied here as it stands at this revision, so the migration never imports the
app.
"""
import hashlib
import hmac
import json
import logging
from datetime import UTC

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a13a0d170001'
down_revision = 'b3f1e8a9c2d4'
branch_labels = None
depends_on = None

log = logging.getLogger('alembic.runtime.migration')
GENESIS = '0' * 64

cases = sa.table(
    'cases',
    sa.column('id', sa.Integer()),
    sa.column('public_id', sa.String()),
    sa.column('reference', sa.String()),
    sa.column('event_count', sa.Integer()),
    sa.column('event_head', sa.String()),
)
events = sa.table(
    'events',
    sa.column('id', sa.Integer()),
    sa.column('case_id', sa.Integer()),
    sa.column('seq', sa.Integer()),
    sa.column('at', sa.DateTime()),
    sa.column('actor_id', sa.Integer()),
    sa.column('actor_role', sa.String()),
    sa.column('kind', sa.String()),
    sa.column('data', sa.JSON()),
    sa.column('prev_hash', sa.String()),
    sa.column('hash', sa.String()),
)


def upgrade():
    op.create_table('security_events',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_security_events'))
    )
    with op.batch_alter_table('security_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_security_events_user_id'), ['user_id'], unique=False)

    chain = op.create_table('security_chain',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('event_count', sa.Integer(), nullable=False),
    sa.Column('head', sa.String(length=64), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_security_chain_one_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_security_chain'))
    )
    op.bulk_insert(chain, [{'id': 1, 'event_count': 0, 'head': GENESIS}])

    _rechain(_sha256, _keyed())


def downgrade():
    _rechain(_keyed(), _sha256)
    op.drop_table('security_chain')
    with op.batch_alter_table('security_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_security_events_user_id'))
    op.drop_table('security_events')


def _canonical(value):
    return json.dumps(value, sort_keys=True, separators=(',', ':'), ensure_ascii=False)


def _sha256(message):
    return hashlib.sha256(message.encode()).hexdigest()


def _keyed():
    """HMAC-SHA256 under the app's audit key, read only when there is something to re-chain."""
    def digest(message):
        from flask import current_app

        key = current_app.config['AUDIT_KEY'].encode()
        return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()
    return digest


def _hash(digest, public_id, event, prev_hash):
    body = {
        'case': public_id,
        'seq': event.seq,
        'at': event.at.replace(tzinfo=UTC).isoformat(),
        'actor_id': event.actor_id,
        'actor_role': event.actor_role,
        'kind': event.kind,
        'data': event.data,
    }
    return digest(prev_hash + _canonical(body))


def _intact(digest, case, rows):
    previous, expected = GENESIS, 1
    for event in rows:
        if event.seq != expected or event.prev_hash != previous:
            return False
        if _hash(digest, case.public_id, event, previous) != event.hash:
            return False
        previous, expected = event.hash, expected + 1
    return expected - 1 == case.event_count and previous == case.event_head


def _rechain(old, new, batch=500):
    """Verify every case's chain under `old`, then write it again under `new`."""
    bind = op.get_bind()
    last_id, rechained, left = 0, 0, []
    while True:
        group = bind.execute(
            sa.select(cases).where(cases.c.id > last_id).order_by(cases.c.id).limit(batch)
        ).all()
        if not group:
            break
        by_case = {case.id: [] for case in group}
        for event in bind.execute(
            sa.select(events)
            .where(events.c.case_id.in_(list(by_case)))
            .order_by(events.c.case_id, events.c.seq)
        ):
            by_case[event.case_id].append(event)
        for case in group:
            rows = by_case[case.id]
            if not _intact(old, case, rows):
                left.append(case.reference)
                continue
            previous, changes = GENESIS, []
            for event in rows:
                digest = _hash(new, case.public_id, event, previous)
                changes.append({'_id': event.id, '_prev': previous, '_hash': digest})
                previous = digest
            if changes:
                bind.execute(
                    events.update()
                    .where(events.c.id == sa.bindparam('_id'))
                    .values(prev_hash=sa.bindparam('_prev'), hash=sa.bindparam('_hash')),
                    changes,
                )
            bind.execute(cases.update().where(cases.c.id == case.id).values(event_head=previous))
            rechained += 1
        last_id = group[-1].id
    if rechained or left:
        log.info('re-chained the events of %d cases', rechained)
    for reference in left:
        log.warning('%s: the event chain was already broken; left as it was', reference)
