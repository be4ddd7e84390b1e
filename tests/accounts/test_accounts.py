"""Accounts: Argon2 hashes, log-in and log-out with CSRF, tokens stored hashed and shown once."""

from __future__ import annotations

import json
import re

import sqlalchemy as sa

from odr.accounts.models import ApiToken, User
from odr.cases.models import Case
from odr.demo import DEMO_PASSWORD
from odr.extensions import db
from tests.factories import PASSWORD, make_user, token_for


def test_passwords_are_stored_as_argon2_hashes(app):
    user = make_user(app, "consumer")
    with app.app_context():
        stored = db.session.get(User, user.id).password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_log_in_and_log_out(app, web):
    user = make_user(app, "consumer")
    assert web.get("/disputes").status_code == 302
    web.login(user.email)
    assert web.get("/disputes").status_code == 200
    assert web.post("/logout").status_code == 302
    assert web.get("/disputes").status_code == 302


def test_a_wrong_password_is_refused_without_saying_which_part(app, web):
    user = make_user(app, "consumer")
    web.get("/login")
    wrong = web.post("/login", {"email": user.email, "password": "not the password"})
    unknown = web.post("/login", {"email": "nobody@example.com", "password": "whatever"})
    assert wrong.status_code == unknown.status_code == 401

    def page(response, email):
        text = response.get_data(as_text=True).replace(email, "EMAIL")
        return re.sub(r'name="csrf_token" value="[^"]+"', "", text)  # signed with the time

    assert page(wrong, user.email) == page(unknown, "nobody@example.com")


def test_forms_without_a_csrf_token_are_refused(app, web):
    user = make_user(app, "consumer")
    refused = web.post("/login", {"email": user.email, "password": PASSWORD}, csrf=False)
    assert refused.status_code == 400
    web.login(user.email)
    assert web.post("/logout", csrf=False).status_code == 400
    assert web.get("/disputes").status_code == 200


def test_a_session_cookie_is_useless_once_logged_out(app, web):
    user = make_user(app, "consumer")
    web.login(user.email)
    cookie = web.client.get_cookie("session").value
    web.post("/logout")
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    assert replay.get("/disputes").status_code == 302


def test_tokens_are_stored_hashed(app, api):
    user = make_user(app, "consumer")
    token = token_for(app, user)
    with app.app_context():
        stored = db.session.scalars(sa.select(ApiToken.token_hash)).all()
    assert token not in stored and len(stored[0]) == 64
    assert api.as_user(user).get("/api/v1/me").status_code == 200


def test_a_bad_or_revoked_token_is_401(app, api):
    user = make_user(app, "consumer")
    client = api.as_user(user)
    with app.app_context():
        db.session.execute(sa.update(ApiToken).values(revoked_at=sa.func.current_timestamp()))
        db.session.commit()
    assert client.get("/api/v1/me").status_code == 401
    client.token = "odr_not-a-real-token"
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_deactivated_account_is_locked_out(app, api, web):
    user = make_user(app, "consumer")
    client = api.as_user(user)
    web.login(user.email)
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == user.id).values(active=False))
        db.session.commit()
    assert client.get("/api/v1/me").status_code == 401
    assert web.get("/disputes").status_code == 302


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=["odr", *args])


def test_create_user_and_token_commands_print_one_json_object(app):
    created = _cli(
        app,
        "create-user",
        "--email",
        "Mediator@Example.com",
        "--role",
        "mediator",
        "--name",
        "Anna",
        "--country",
        "de",
        "--language",
        "en",
        "--languages",
        "en,de",
        "--json",
    )
    assert created.exit_code == 0, created.stderr
    user = json.loads(created.stdout)
    assert user["email"] == "mediator@example.com" and "password" in user
    token = _cli(app, "token", "create", "--email", "mediator@example.com", "--json")
    assert token.exit_code == 0
    plain = json.loads(token.stdout)["token"]
    assert plain.startswith("odr_") and plain not in token.stderr
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"})
    assert me.get_json()["roles"] == ["mediator"]


def test_commands_refuse_bad_input_naming_the_option(app):
    bad = _cli(
        app,
        "create-user",
        "--email",
        "x",
        "--role",
        "king",
        "--name",
        "X",
        "--country",
        "XX",
        "--language",
        "en",
        "--json",
    )
    assert bad.exit_code != 0 and bad.stdout == ""
    for field in ("email", "role", "country"):
        assert f"{field}:" in bad.stderr
    missing = _cli(app, "token", "create", "--email", "nobody@example.com")
    assert missing.exit_code != 0 and "--email" in missing.stderr


def test_seed_demo_creates_accounts_once(app):
    first = _cli(app, "seed-demo", "--json")
    assert first.exit_code == 0, first.stderr
    accounts = json.loads(first.stdout)["accounts"]
    assert {a["role"] for a in accounts} >= {"consumer", "merchant", "mediator", "case_manager"}
    assert {"role": "partner", "email": "partner@demo.odr", "password": DEMO_PASSWORD} in accounts
    with app.app_context():
        states = db.session.scalars(sa.select(Case.state).order_by(Case.id)).all()
    assert "referred" in states  # the demo agency has a referral waiting in its portal
    second = _cli(app, "seed-demo", "--json")
    assert json.loads(second.stdout) == {"accounts": []}
    web = app.test_client()
    page = web.get("/login")
    assert page.status_code == 200
