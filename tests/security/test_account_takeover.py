"""ASVS V6.3/V6.4: registering someone else's address first does not take their account.

The attacker signs up as a merchant with the victim's address and logs in unverified. The attack
worked when that account could mint an API token, when the victim's click on the confirmation
mail verified the attacker's account, and when the victim's password reset left the attacker's
token alive. Each step is played over HTTP against a served app, links read from the mail.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from odr.accounts.models import ApiToken, User
from odr.extensions import db
from tests.factories import lodging_body, make_user, token_for, token_from_before
from tests.security.conftest import signup_form

VICTIM = "orders@victim-shop.example"
ATTACKER_PASSWORD = "crimson walrus 83 teapot ladder"
VICTIM_PASSWORD = "quiet meadow 41 copper kettle"
TOKEN = re.compile(r'<p class="token">(odr_[A-Za-z0-9_\-]+)</p>')


def _sign_up(visitor, email: str, password: str, role: str = "merchant"):
    visitor.get("/signup")
    form = signup_form(email, password, role=role, name="Mallory Trading", country="DE")
    return visitor.post("/signup", {**form, "timezone": "Europe/Berlin"})


def _mailed_path(server, mailbox, to: str, path: str) -> str:
    texts = [m.get_body(preferencelist=("plain",)).get_content() for m in mailbox.to(to)]
    found = [f for text in texts for f in re.findall(re.escape(server.url + path) + r"/\S+", text)]
    assert found, f"no {path} link mailed to {to}"
    return found[-1].removeprefix(server.url)


def _account(server, email: str) -> User:
    with server.app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        db.session.expunge(user)
    return user


def _tokens(server, user_id: int) -> list[ApiToken]:
    with server.app.app_context():
        rows = db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user_id)).all()
        db.session.expunge_all()
    return list(rows)


def _logged_in(visitor) -> bool:
    return visitor.get("/account").status_code == 200


def test_an_unverified_account_cannot_mint_a_token_or_act_on_a_dispute(server, mailbox):
    consumer = make_user(server.app, "consumer")
    dispute = (
        server.visitor()
        .api("POST", "/api/v1/disputes", token_for(server.app, consumer), json=lodging_body(VICTIM))
        .json()
    )
    attacker = server.visitor()
    assert _sign_up(attacker, VICTIM, ATTACKER_PASSWORD).status_code == 200
    squatter = _account(server, VICTIM)
    assert not squatter.email_verified
    assert attacker.login(VICTIM, ATTACKER_PASSWORD).status_code == 302

    attacker.get("/account")
    minted = attacker.post("/account/tokens", {"name": "backdoor"})

    assert minted.status_code == 403, minted.status_code
    assert TOKEN.findall(minted.text) == []
    assert _tokens(server, squatter.id) == []
    assert "Confirm your e-mail address" in minted.text
    assert 'action="/account/verify/resend"' in minted.text  # a way to get the link again

    # Acting on the dispute that names the address: on the page, and with an older token.
    offer = {"amount": "1.00", "currency": "EUR", "remedy": "refund", "terms": "nothing"}
    assert attacker.post(f"/disputes/{dispute['id']}/offers", offer).status_code == 404
    legacy = token_from_before(server.app, squatter)
    for method, path, body in [
        ("GET", f"/api/v1/disputes/{dispute['id']}", None),
        ("POST", f"/api/v1/disputes/{dispute['id']}/messages", {"body": "hi", "channel": "joint"}),
        ("POST", "/api/v1/disputes", lodging_body("someone@else.example")),
    ]:
        answer = attacker.api(method, path, legacy, json=body)
        assert answer.status_code == 403, (path, answer.status_code, answer.text[:200])
        assert "Confirm your e-mail address" in answer.json()["title"], answer.json()
        assert "/account/verify/resend" in answer.json()["detail"]


def test_an_unverified_consumer_cannot_lodge_and_is_told_how_to_confirm(server, mailbox):
    visitor = server.visitor()
    _sign_up(visitor, "buyer@example.com", ATTACKER_PASSWORD, role="consumer")
    visitor.login("buyer@example.com", ATTACKER_PASSWORD)

    refused = visitor.get("/disputes/new")

    assert refused.status_code == 403
    assert "Confirm your e-mail address first" in refused.text
    assert 'action="/account/verify/resend"' in refused.text
    assert visitor.post("/account/tokens", {"name": "x"}).status_code == 403


def test_the_victims_click_on_the_confirmation_mail_does_not_verify_the_attackers_account(
    server, mailbox
):
    attacker = server.visitor()
    _sign_up(attacker, VICTIM, ATTACKER_PASSWORD)
    attacker.login(VICTIM, ATTACKER_PASSWORD)
    link = _mailed_path(server, mailbox, VICTIM, "/account/verify")
    victim = server.visitor()

    opened = victim.get(link)

    assert opened.status_code == 200, opened.status_code
    assert not _account(server, VICTIM).email_verified, "a GET must not verify"
    assert 'type="password"' in opened.text  # the account's password, or nothing happens
    assert "/password/forgot" in opened.text  # not yours? take the address back by a reset
    guessed = victim.post(link, {"password": VICTIM_PASSWORD})
    assert guessed.status_code == 422
    assert not _account(server, VICTIM).email_verified
    assert victim.post(link, {}).status_code == 422
    assert not _account(server, VICTIM).email_verified
    assert not _logged_in(victim)


def test_the_person_who_signed_up_confirms_with_the_password_or_their_session(server, mailbox):
    first = server.visitor()
    _sign_up(first, "ada@example.com", VICTIM_PASSWORD, role="consumer")
    link = _mailed_path(server, mailbox, "ada@example.com", "/account/verify")
    confirmed = first.post(link, {"password": VICTIM_PASSWORD})
    assert confirmed.status_code == 303, confirmed.text[:300]
    assert _account(server, "ada@example.com").email_verified
    assert _logged_in(first)

    second = server.visitor()
    _sign_up(second, "grace@example.com", VICTIM_PASSWORD, role="consumer")
    second.login("grace@example.com", VICTIM_PASSWORD)
    link = _mailed_path(server, mailbox, "grace@example.com", "/account/verify")
    page = second.get(link)
    assert page.status_code == 200 and 'type="password"' not in page.text
    assert not _account(server, "grace@example.com").email_verified
    assert second.post(link).status_code == 303
    assert _account(server, "grace@example.com").email_verified


def test_the_victims_password_reset_ends_the_attackers_sessions_and_tokens(server, mailbox):
    attacker = server.visitor()
    _sign_up(attacker, VICTIM, ATTACKER_PASSWORD)
    attacker.login(VICTIM, ATTACKER_PASSWORD)
    squatter = _account(server, VICTIM)
    legacy = token_from_before(server.app, squatter)
    assert attacker.api("GET", "/api/v1/me", legacy).status_code in (200, 403)
    assert _logged_in(attacker)

    victim = server.visitor()
    victim.get("/password/forgot")
    victim.post("/password/forgot", {"email": VICTIM})
    link = _mailed_path(server, mailbox, VICTIM, "/password/reset")
    victim.get(link)
    done = victim.post(link, {"new_password": VICTIM_PASSWORD, "confirm_password": VICTIM_PASSWORD})
    assert done.status_code == 302, done.text[:300]

    assert _account(server, VICTIM).email_verified  # the reset link proved the address
    assert not _logged_in(attacker)
    assert attacker.api("GET", "/api/v1/me", legacy).status_code == 401
    assert all(t.revoked_at is not None for t in _tokens(server, squatter.id))
    assert server.visitor().login(VICTIM, ATTACKER_PASSWORD).status_code == 401
    assert server.visitor().login(VICTIM, VICTIM_PASSWORD).status_code == 302
