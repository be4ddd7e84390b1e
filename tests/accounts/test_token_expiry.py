"""A token's owner hears, once and in their language, two weeks before it expires, so that an
agency's or a platform's integration never stops by surprise."""

from __future__ import annotations

from datetime import timedelta

from odr import clock
from odr.accounts.tokens import create_token, revoke_token
from odr.extensions import db
from odr.sweep import sweep
from tests.factories import make_user


def _token(app, user, name: str, days: int | None = None):
    with app.app_context():
        expires = clock.now() + timedelta(days=days) if days else None
        token, _plain = create_token(db.session.merge(user), name=name, expires_at=expires)
        return token.id


def _sweep_at(app, moment) -> dict:
    with app.app_context(), clock.travel_to(moment):
        result = sweep()
        db.session.remove()
    return result


def test_the_owner_is_told_once_two_weeks_before_a_token_expires(app, mailbox):
    desk = make_user(app, "partner", email="desk@agency.example", language="zh_Hans")
    _token(app, desk, "Referrals integration")
    start = clock.now()

    assert _sweep_at(app, start + timedelta(days=75))["tokens_expiring"] == 0  # 15 days left
    assert mailbox.to(desk.email) == []

    assert _sweep_at(app, start + timedelta(days=77))["tokens_expiring"] == 1
    [mail] = mailbox.to(desk.email)
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Referrals integration" in mail["Subject"]
    assert "API" in body and "/account" in body
    assert "expires" not in body  # worded in the owner's language, not English

    assert _sweep_at(app, start + timedelta(days=80))["tokens_expiring"] == 0
    assert len(mailbox.to(desk.email)) == 1


def test_revoked_expired_and_distant_tokens_are_not_announced(app, mailbox):
    owner = make_user(app, "consumer", email="owner@example.com")
    revoked = _token(app, owner, "old laptop")
    _token(app, owner, "yearly", days=300)
    with app.app_context():
        revoke_token(db.session.merge(owner), revoked)

    assert _sweep_at(app, clock.now() + timedelta(days=80))["tokens_expiring"] == 0
    assert _sweep_at(app, clock.now() + timedelta(days=120))["tokens_expiring"] == 0
    assert mailbox.to(owner.email) == []
