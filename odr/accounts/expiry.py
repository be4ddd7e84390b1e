"""Tokens about to expire: their owner is told once, two weeks ahead.

Every API token expires (90 days unless asked otherwise). An agency's or a platform's integration
that stops on the day would strand referrals and filings, so the sweep tells each token's owner,
in their language, while there is time to make a new one.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from odr import clock
from odr.accounts.models import ApiToken, User
from odr.db import write_transaction
from odr.delivery.services import queue_mail
from odr.extensions import db

WARN_BEFORE = timedelta(days=14)


def warn_of_expiring_tokens(limit: int = 500) -> int:
    """Queue one mail per live token that expires within `WARN_BEFORE`; returns how many.

    The caller delivers the outbox (the sweep does so at its end).
    """
    now = clock.now()
    with write_transaction(db.session):
        rows = db.session.execute(
            sa.select(ApiToken.id, ApiToken.name, ApiToken.expires_at, User)
            .join(User, User.id == ApiToken.user_id)
            .where(
                ApiToken.revoked_at.is_(None),
                ApiToken.expiry_warned_at.is_(None),
                ApiToken.expires_at > now,
                ApiToken.expires_at <= now + WARN_BEFORE,
                User.active.is_(True),
            )
            .order_by(ApiToken.expires_at)
            .limit(limit)
            .with_for_update(of=ApiToken, skip_locked=True)
        ).all()
        for token_id, name, expires_at, user in rows:
            queue_mail(
                to=user.email,
                language=user.language,
                template="token_expiring",
                key=f"token-expiring:{token_id}",
                case_id=None,
                user=user,
                token_name=name,
                expires_at=expires_at,
            )
        if rows:
            db.session.execute(
                sa.update(ApiToken)
                .where(ApiToken.id.in_([row[0] for row in rows]))
                .values(expiry_warned_at=now)
            )
    return len(rows)
