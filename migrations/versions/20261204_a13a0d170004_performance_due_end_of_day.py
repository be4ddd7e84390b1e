"""performance deadlines at the end of the day in the acting party's time zone

Revision ID: a13a0d170004
Revises: a13a0d170003
Create Date: 2026-12-04 18:00:00.000000

Each performance date gets the zone in which it ends (cases, offers, proposals, awards). Existing
rows with a date get the respondent's zone by the rule of `odr.cases.performance` as it stands at
this revision (copied here, since a migration must not change with the code): the zone of the
merchant account the dispute names, else of one that joined it, when it chose one (not UTC);
else the main zone of the respondent's country; else UTC. The open settlements and awards then
fire at the end of that day instead of 00:00 UTC; the downgrade puts them back at 00:00 UTC.

"""
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

from alembic import op
import sqlalchemy as sa
from babel.core import get_global


# revision identifiers, used by Alembic.
revision = 'a13a0d170004'
down_revision = 'a13a0d170003'
branch_labels = None
depends_on = None

TABLES = ('cases', 'offers', 'proposals', 'awards')
UNCHOSEN = {'UTC', 'Etc/UTC'}
MAIN_ZONES = {
    'AR': 'America/Argentina/Buenos_Aires', 'AU': 'Australia/Sydney', 'BR': 'America/Sao_Paulo',
    'CA': 'America/Toronto', 'CD': 'Africa/Kinshasa', 'CL': 'America/Santiago',
    'CN': 'Asia/Shanghai', 'CY': 'Asia/Nicosia', 'DE': 'Europe/Berlin',
    'EC': 'America/Guayaquil', 'ES': 'Europe/Madrid', 'FM': 'Pacific/Pohnpei',
    'GL': 'America/Nuuk', 'ID': 'Asia/Jakarta', 'KI': 'Pacific/Tarawa', 'KZ': 'Asia/Almaty',
    'MH': 'Pacific/Majuro', 'MN': 'Asia/Ulaanbaatar', 'MX': 'America/Mexico_City',
    'MY': 'Asia/Kuala_Lumpur', 'NZ': 'Pacific/Auckland', 'PF': 'Pacific/Tahiti',
    'PG': 'Pacific/Port_Moresby', 'PS': 'Asia/Hebron', 'PT': 'Europe/Lisbon',
    'RU': 'Europe/Moscow', 'UA': 'Europe/Kyiv', 'UM': 'Pacific/Wake',
    'US': 'America/New_York', 'UZ': 'Asia/Tashkent',
}

cases = sa.table(
    'cases',
    sa.column('id', sa.Integer),
    sa.column('state', sa.String),
    sa.column('respondent_email', sa.String),
    sa.column('respondent_country', sa.String),
    sa.column('performance_due', sa.Date),
    sa.column('performance_zone', sa.String),
    sa.column('deadline_at', sa.DateTime),
)
users = sa.table(
    'users',
    sa.column('id', sa.Integer),
    sa.column('email', sa.String),
    sa.column('role', sa.String),
    sa.column('timezone', sa.String),
    sa.column('merchant_id', sa.Integer),
    sa.column('active', sa.Boolean),
    sa.column('email_verified_at', sa.DateTime),
)
links = sa.table('respondent_links', sa.column('case_id', sa.Integer), sa.column('merchant_id', sa.Integer))
terms = {
    name: sa.table(
        name,
        sa.column('case_id', sa.Integer),
        sa.column('performance_due', sa.Date),
        sa.column('performance_zone', sa.String),
    )
    for name in TABLES[1:]
}


def _country_zone(country, known):
    zone = MAIN_ZONES.get((country or '').upper())
    if zone is None:
        zones = get_global('territory_zones').get((country or '').upper(), [])
        zone = zones[0] if len(zones) == 1 else None
    return zone if zone in known else 'UTC'


def _respondent_zone(bind, case, known):
    linked = sa.select(links.c.merchant_id).where(links.c.case_id == case.id)
    accounts = bind.execute(
        sa.select(users.c.id, users.c.email, users.c.timezone).where(
            users.c.role == 'merchant',
            users.c.merchant_id.is_(None),
            users.c.active.is_(True),
            users.c.email_verified_at.is_not(None),
            sa.or_(users.c.email == case.respondent_email, users.c.id.in_(linked)),
        )
    ).all()
    for account in sorted(accounts, key=lambda a: (a.email != case.respondent_email, a.id)):
        if account.timezone not in UNCHOSEN and account.timezone in known:
            return account.timezone
    return _country_zone(case.respondent_country, known)


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('performance_zone', sa.String(length=64), nullable=True))

    bind = op.get_bind()
    known = frozenset(available_timezones())
    dated = sa.union(
        sa.select(cases.c.id).where(cases.c.performance_due.is_not(None)),
        *(sa.select(t.c.case_id).where(t.c.performance_due.is_not(None)) for t in terms.values()),
    ).subquery()
    rows = bind.execute(
        sa.select(cases.c.id, cases.c.state, cases.c.respondent_email, cases.c.respondent_country,
                  cases.c.performance_due)
        .where(cases.c.id.in_(sa.select(dated.c.id)))
    ).all()
    for case in rows:
        zone = _respondent_zone(bind, case, known)
        if case.performance_due is not None:
            values = {'performance_zone': zone}
            if case.state in ('settled', 'awarded'):  # the sweep's timer: the end of that day
                ends = datetime.combine(case.performance_due + timedelta(days=1), time.min,
                                        tzinfo=ZoneInfo(zone))
                values['deadline_at'] = ends.astimezone(UTC).replace(tzinfo=None)
            bind.execute(cases.update().where(cases.c.id == case.id).values(**values))
        for table in terms.values():
            bind.execute(
                table.update()
                .where(table.c.case_id == case.id, table.c.performance_due.is_not(None))
                .values(performance_zone=zone)
            )


def downgrade():
    bind = op.get_bind()
    for case in bind.execute(
        sa.select(cases.c.id, cases.c.performance_due).where(
            cases.c.state.in_(('settled', 'awarded')), cases.c.performance_due.is_not(None)
        )
    ).all():
        midnight = datetime.combine(case.performance_due, time.min)  # 00:00 UTC, the old rule
        bind.execute(cases.update().where(cases.c.id == case.id).values(deadline_at=midnight))
    # SQLite (3.35+) drops a plain column in place: copying `cases` anew would trip the foreign
    # keys of the rows that point at it.
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None, recreate='never') as batch_op:
            batch_op.drop_column('performance_zone')
