"""ASVS V6.2: long passphrases are accepted (zxcvbn reads at most 72 characters), and a password
beyond the maximum gets a field error rather than a server error."""

from __future__ import annotations

import secrets
import string

import pytest

from odr.accounts.services import find_user_by_email
from tests.factories import PASSWORD, make_user
from tests.security.conftest import signup_form

MAX_LENGTH = 1024


def passphrase(length: int) -> str:
    """Random letters and digits: strong in any prefix zxcvbn looks at."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def sign_up(server, email: str, password: str):
    visitor = server.visitor()
    visitor.get("/signup")
    return visitor.post("/signup", signup_form(email, password))


@pytest.mark.parametrize("length", [73, 200, 1000, MAX_LENGTH])
def test_a_long_passphrase_is_accepted_at_sign_up(server, length):
    email = f"long{length}@example.com"
    response = sign_up(server, email, passphrase(length))

    assert response.status_code == 200, response.text[-500:]
    assert "Check your mail" in response.text
    with server.app.app_context():
        assert find_user_by_email(email) is not None


def test_a_password_beyond_the_maximum_is_a_field_error(server):
    response = sign_up(server, "too.long@example.com", passphrase(MAX_LENGTH + 1))

    assert response.status_code == 422, response.text[-500:]
    assert 'id="password-error"' in response.text
    assert f"At most {MAX_LENGTH} characters." in response.text
    with server.app.app_context():
        assert find_user_by_email("too.long@example.com") is None


def test_a_long_passphrase_can_replace_the_password(server):
    user = make_user(server.app, email="changer@example.com")
    visitor = server.visitor()
    assert visitor.login(user.email, PASSWORD).status_code == 302
    visitor.get("/account")
    new = passphrase(200)
    changed = visitor.post(
        "/account/password",
        {"password": PASSWORD, "new_password": new, "confirm_password": new},
    )
    assert changed.status_code == 303, changed.text[-500:]

    again = server.visitor()
    assert again.login(user.email, new).status_code == 302
