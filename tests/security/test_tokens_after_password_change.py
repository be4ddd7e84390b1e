"""ASVS V6.2/V7.4: changing or resetting a password ends what the old password opened, API
tokens included, and the page says so. A token stolen with the password no longer answers."""

from __future__ import annotations

import re

from tests.factories import PASSWORD, make_user, token_for

NEW_PASSWORD = "amber kettle juniper 58 lanterns"
TOKEN = re.compile(r'<p class="token">(odr_[A-Za-z0-9_\-]+)</p>')


def _mailed_path(server, mailbox, to: str, path: str) -> str:
    texts = [m.get_body(preferencelist=("plain",)).get_content() for m in mailbox.to(to)]
    found = [f for text in texts for f in re.findall(re.escape(server.url + path) + r"/\S+", text)]
    assert found, f"no {path} link mailed to {to}"
    return found[-1].removeprefix(server.url)


def test_a_password_change_revokes_every_api_token(server):
    user = make_user(server.app, "consumer", email="owner@example.com")
    visitor = server.visitor()
    visitor.login(user.email, PASSWORD)
    visitor.get("/account")
    [made_on_the_page] = TOKEN.findall(visitor.post("/account/tokens", {"name": "CI"}).text)
    made_elsewhere = token_for(server.app, user)
    for token in (made_on_the_page, made_elsewhere):
        assert visitor.api("GET", "/api/v1/me", token).status_code == 200

    visitor.get("/account")
    changed = visitor.post(
        "/account/password",
        {"password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )

    assert changed.status_code == 303
    for token in (made_on_the_page, made_elsewhere):
        assert visitor.api("GET", "/api/v1/me", token).status_code == 401
    account = visitor.get("/account")
    assert account.status_code == 200  # this session goes on
    assert "your API tokens are revoked" in account.text
    assert "You have no API tokens." in account.text


def test_a_password_reset_revokes_every_api_token(server, mailbox):
    user = make_user(server.app, "consumer", email="owner@example.com")
    token = token_for(server.app, user)
    thief = server.visitor()
    assert thief.api("GET", "/api/v1/disputes", token).status_code == 200

    owner = server.visitor()
    owner.get("/password/forgot")
    owner.post("/password/forgot", {"email": user.email})
    link = _mailed_path(server, mailbox, user.email, "/password/reset")
    form = owner.get(link)
    assert "API tokens" in form.text  # told before choosing the password ...
    done = owner.post(link, {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})

    assert done.status_code == 302
    assert thief.api("GET", "/api/v1/disputes", token).status_code == 401
    assert "API tokens are revoked" in owner.get(done.headers["Location"]).text  # ... and after
