"""The respondent's notice travels through the outbox to a real SMTP server."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from odr import clock
from odr.cases.models import Case
from odr.delivery.models import OutboxMessage
from odr.extensions import db
from odr.sweep import sweep
from tests.factories import lodge, make_user


def _outbox(app, key_prefix: str = "dispute_lodged:"):
    with app.app_context():
        return db.session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.idempotency_key.startswith(key_prefix))
            .order_by(OutboxMessage.id)
        ).all()


def test_the_respondent_gets_the_claim_in_their_language(app, api, mailbox):
    consumer = make_user(app, "consumer", name="李伟")
    dispute = lodge(
        api.as_user(consumer),
        respondent__email="shop@merchant.example",
        respondent__language="zh-TW",
    )
    messages = mailbox.to("shop@merchant.example")
    assert len(messages) == 1
    message = messages[0]
    assert dispute["reference"] in message["Subject"]
    assert message["Content-Language"] == "zh_Hant"
    body = message.get_body(("plain",)).get_content()
    assert "爭議" in body  # Traditional Chinese
    assert "https://odr.test/invitations/" in body
    assert "The left earcup stopped working" in body
    html = message.get_body(("html",)).get_content()
    assert 'href="https://odr.test/invitations/' in html
    assert [m.delivered_at is not None for m in _outbox(app)] == [True]


def test_an_english_speaking_respondent_gets_english(app, api, mailbox):
    lodge(api.as_user(make_user(app, "consumer")), respondent__language="de")
    body = mailbox.to("shop@merchant.example")[0].get_body(("plain",)).get_content()
    assert "has lodged a dispute" in body


def test_a_refused_message_stays_in_the_outbox_and_goes_out_later(app, api, mailbox):
    mailbox.refuse = True
    lodge(api.as_user(make_user(app, "consumer")))
    [message] = _outbox(app)
    assert message.delivered_at is None and message.attempts == 1
    assert "451" in message.last_error
    assert message.next_attempt_at > clock.now()

    mailbox.refuse = False
    with app.app_context():
        assert sweep()["delivered"] == 0  # not due yet
        with clock.travel_to(clock.now() + timedelta(minutes=1)):
            assert sweep()["delivered"] == 2  # the invitation and the claimant's receipt
    assert len(mailbox.to("shop@merchant.example")) == 1
    with app.app_context():
        assert sweep()["delivered"] == 0


def test_an_unreachable_server_is_retried_with_backoff_then_dead(app, api, mailbox):
    app.config["SMTP_PORT"], port = 9, app.config["SMTP_PORT"]  # nothing listens on port 9
    try:
        lodge(api.as_user(make_user(app, "consumer")))
        moment = clock.now()
        with app.app_context():
            for _attempt in range(6):
                moment += timedelta(days=2)
                with clock.travel_to(moment):
                    sweep()
    finally:
        app.config["SMTP_PORT"] = port
    [message] = _outbox(app)
    assert message.attempts == 7
    assert message.dead_at is not None and message.delivered_at is None
    assert mailbox.to("shop@merchant.example") == []


def test_a_mail_delivered_late_says_what_was_true_when_it_was_written(app, api, mailbox):
    mailbox.refuse = True
    dispute = lodge(api.as_user(make_user(app, "consumer")))
    with app.app_context():
        case = db.session.scalar(sa.select(Case).where(Case.public_id == dispute["id"]))
        case.claim_description = "Changed after the mail was written"
        case.state = "withdrawn"
        db.session.commit()

    mailbox.refuse = False
    with app.app_context(), clock.travel_to(clock.now() + timedelta(minutes=5)):
        sweep()
    body = mailbox.to("shop@merchant.example")[0].get_body(("plain",)).get_content()
    assert "The left earcup stopped working" in body
    assert "Changed after" not in body


def test_the_outbox_keeps_only_what_the_mail_says(app, api, mailbox):
    mailbox.refuse = True
    lodge(api.as_user(make_user(app, "consumer")))
    [message] = _outbox(app)
    case = message.payload["context"]["case"]["$record"]
    assert {"reference", "claimant_name", "claim_description"} <= set(case)
    assert "respondent_email" not in case and "claimant_email" not in case
    assert "claimant_address" not in case
