"""Sessions, remember cookies and API tokens: who stays logged in, and what stops working when.

A stolen cookie is simulated by copying it into a fresh test client and replaying it there.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from odr import clock
from odr.extensions import db
from odr.i18n import format_time
from tests.conftest import WebClient, build_app
from tests.factories import PASSWORD, ApiClient, make_user

NEW_PASSWORD = "amber kettle juniper 58 lanterns"
TOKEN = re.compile(r'<p class="token">(odr_[A-Za-z0-9_\-]+)</p>')


# ---- helpers ------------------------------------------------------------------------------------


def page(response) -> str:
    return response.get_data(as_text=True)


def logged_in(client) -> bool:
    """Whether the client's cookies still open a logged-in page."""
    response = client.get("/disputes")
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def replay(app, name: str, value: str):
    """A fresh browser that carries only the given cookie."""
    client = app.test_client()
    client.set_cookie(name, value)
    return client


def log_in(web: WebClient, email: str, *, remember: bool = False):
    web.get("/login")
    form = {"email": email, "password": PASSWORD} | ({"remember": "yes"} if remember else {})
    response = web.post("/login", form)
    assert response.status_code == 302, page(response)[:300]
    web.get("/disputes")  # the new session has a new CSRF token
    return response


def change_password(web: WebClient, current: str, new: str, confirm: str | None = None):
    web.get("/account")
    return web.post(
        "/account/password",
        {"password": current, "new_password": new, "confirm_password": confirm or new},
    )


def field_errors(response) -> list[str]:
    return re.findall(r'class="field-error" id="([^"]+)-error"', page(response))


def set_cookie_header(response, name: str) -> str:
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    return header


def cookie_attributes(header: str) -> set[str]:
    return {part.strip().lower() for part in header.split(";")[1:]}


def api_with(app, token: str) -> ApiClient:
    client = ApiClient(app)
    client.token = token
    return client


def create_token(web: WebClient, name: str, expires_on: str = ""):
    web.get("/account")
    return web.post("/account/tokens", {"name": name, "expires_on": expires_on})


def token_rows(response) -> dict[str, dict[str, str]]:
    """The token table of the account page: name → {column label → text}."""
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", page(response), re.S):
        cells = dict(re.findall(r'<td data-label="([^"]+)">(.*?)</td>', row, re.S))
        if cells:
            rows[cells["Name"]] = {label: text.strip() for label, text in cells.items()}
    return rows


def revoke_path(response, name: str) -> str:
    for row in re.findall(r"<tr>(.*?)</tr>", page(response), re.S):
        if f'data-label="Name">{name}</td>' in row:
            return re.search(r'action="(/account/tokens/\d+/revoke)"', row).group(1)
    raise AssertionError(f"no token named {name}")


def formatted(app, moment: datetime) -> str:
    with app.test_request_context():
        return format_time(moment)


# ---- log-in and log-out -------------------------------------------------------------------------


def test_logging_in_starts_a_new_session_cookie(app, web):
    user = make_user(app, "consumer")
    web.get("/login")
    before = web.client.get_cookie("session").value

    log_in(web, user.email)

    after = web.client.get_cookie("session").value
    assert after != before
    assert logged_in(web.client)
    assert not logged_in(replay(app, "session", before))
    assert logged_in(replay(app, "session", after))


def test_each_log_in_is_a_session_of_its_own(app, make_web):
    user = make_user(app, "consumer")
    laptop, phone = make_web(), make_web()
    log_in(laptop, user.email)
    log_in(phone, user.email)

    assert laptop.client.get_cookie("session").value != phone.client.get_cookie("session").value
    laptop.post("/logout")

    assert not logged_in(laptop.client)
    assert logged_in(phone.client)


def test_a_session_cookie_replayed_after_log_out_is_useless(app, web):
    user = make_user(app, "consumer")
    log_in(web, user.email)
    stolen = web.client.get_cookie("session").value
    assert logged_in(replay(app, "session", stolen))  # the copy works while the session lives

    response = web.post("/logout")

    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert not logged_in(web.client)
    assert not logged_in(replay(app, "session", stolen))


def test_a_remember_cookie_keeps_a_fresh_browser_logged_in(app, web):
    user = make_user(app, "consumer")
    log_in(web, user.email, remember=True)

    remember = web.client.get_cookie("remember_token")

    assert remember is not None
    assert logged_in(replay(app, "remember_token", remember.value))


def test_a_remember_cookie_is_useless_after_log_out(app, web):
    user = make_user(app, "consumer")
    log_in(web, user.email, remember=True)
    stolen = web.client.get_cookie("remember_token").value
    thief = replay(app, "remember_token", stolen)
    assert logged_in(thief)

    web.post("/logout")

    assert not logged_in(replay(app, "remember_token", stolen))
    assert not logged_in(thief)
    assert not logged_in(web.client)


def test_logging_out_deletes_the_remember_cookie_from_the_browser(app, web):
    user = make_user(app, "consumer")
    log_in(web, user.email, remember=True)

    response = web.post("/logout")

    assert response.status_code == 302
    assert web.client.get_cookie("remember_token") is None


def test_a_remember_cookie_is_useless_after_a_password_change(app, make_web):
    user = make_user(app, "consumer")
    old_device, web = make_web(), make_web()
    log_in(old_device, user.email, remember=True)
    stolen = old_device.client.get_cookie("remember_token").value
    log_in(web, user.email)

    assert change_password(web, PASSWORD, NEW_PASSWORD).status_code == 303

    assert not logged_in(replay(app, "remember_token", stolen))
    assert not logged_in(old_device.client)


# ---- password change ----------------------------------------------------------------------------


def test_a_password_change_ends_the_other_sessions_but_keeps_this_one(app, make_web):
    user = make_user(app, "consumer")
    here, laptop, phone = make_web(), make_web(), make_web()
    for client in (here, laptop, phone):
        log_in(client, user.email)

    response = change_password(here, PASSWORD, NEW_PASSWORD)

    assert response.status_code == 303
    account = here.get("/account")
    assert account.status_code == 200
    assert (
        "Your password is changed; your other sessions have ended and your API tokens are revoked."
        in page(account)
    )
    assert not logged_in(laptop.client)
    assert not logged_in(phone.client)
    assert here.post("/logout").status_code == 302  # the kept session still works in full
    log_in_again = make_web()
    log_in_again.get("/login")
    assert (
        log_in_again.post("/login", {"email": user.email, "password": PASSWORD}).status_code == 401
    )
    assert (
        log_in_again.post("/login", {"email": user.email, "password": NEW_PASSWORD}).status_code
        == 302
    )


@pytest.mark.parametrize("current", ["", "not my password at all"])
def test_a_password_change_needs_the_current_password(app, make_web, current):
    user = make_user(app, "consumer")
    here, elsewhere = make_web(), make_web()
    log_in(here, user.email)
    log_in(elsewhere, user.email)

    response = change_password(here, current, NEW_PASSWORD)

    assert response.status_code == 422
    assert "password" in field_errors(response)
    assert "This is not your current password." in page(response)
    assert logged_in(elsewhere.client)
    assert logged_in(here.client)


@pytest.mark.parametrize(
    ("new", "confirm", "field"),
    [
        ("", "", "new_password"),
        ("eleven char", "eleven char", "new_password"),
        ("password1234", "password1234", "new_password"),
        ("qwertyuiop12", "qwertyuiop12", "new_password"),
        ("EMAIL", "EMAIL", "new_password"),
        (NEW_PASSWORD, NEW_PASSWORD + "!", "confirm_password"),
    ],
)
def test_a_new_password_must_follow_the_rules(app, make_web, new, confirm, field):
    user = make_user(app, "consumer", email="change.my.password@example.com")
    here, elsewhere = make_web(), make_web()
    log_in(here, user.email)
    log_in(elsewhere, user.email)
    new, confirm = (p.replace("EMAIL", user.email) for p in (new, confirm))

    response = change_password(here, PASSWORD, new, confirm)

    assert response.status_code == 422
    assert field_errors(response) == [field]
    assert logged_in(elsewhere.client)


# ---- timeouts -----------------------------------------------------------------------------------


def test_an_idle_session_ends(app, web):
    user = make_user(app, "consumer")
    idle = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    with clock.travel_to(clock.now()):
        log_in(web, user.email)
        clock.advance(idle - timedelta(minutes=1))
        assert logged_in(web.client)
        clock.advance(idle - timedelta(minutes=1))
        assert logged_in(web.client)  # each request starts the idle time again

        clock.advance(idle + timedelta(minutes=1))
        response = web.client.get("/disputes")

        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
        clock.advance(timedelta(minutes=1))
        assert not logged_in(web.client)


def test_a_session_ends_after_its_absolute_lifetime_even_when_active(app, web):
    user = make_user(app, "consumer")
    absolute = timedelta(hours=app.config["SESSION_ABSOLUTE_HOURS"])
    step = timedelta(minutes=20)
    assert step < timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    with clock.travel_to(clock.now()):
        log_in(web, user.email)
        elapsed = timedelta(minutes=10)
        clock.advance(elapsed)
        while elapsed < absolute:
            assert logged_in(web.client), elapsed
            clock.advance(step)
            elapsed += step

        response = web.client.get("/disputes")

        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


# ---- cookies ------------------------------------------------------------------------------------


def test_session_and_remember_cookies_are_http_only_and_same_site_lax(app, web):
    user = make_user(app, "consumer")
    web.get("/login")

    response = web.post("/login", {"email": user.email, "password": PASSWORD, "remember": "yes"})

    assert response.status_code == 302
    for name in ("session", "remember_token"):
        attributes = cookie_attributes(set_cookie_header(response, name))
        assert {"httponly", "samesite=lax"} <= attributes, (name, attributes)


@pytest.fixture
def production_app(app, mailbox, monkeypatch):
    monkeypatch.setenv("ODR_ENV", "production")
    monkeypatch.setenv("ODR_SECRET_KEY", "a-long-random-secret-for-the-cookie-test")
    monkeypatch.setenv("ODR_SINGLE_HOST", "1")  # SQLite and memory counters: one process
    production = build_app(app.backend, mailbox, name="production_cookies.db")
    yield production
    with production.app_context():
        db.session.remove()
        db.engine.dispose()


def test_in_production_every_cookie_is_secure_http_only_and_same_site_lax(production_app):
    config = production_app.config
    assert config["ODR_ENV"] == "production"
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    assert config["SESSION_COOKIE_HTTPONLY"] and config["REMEMBER_COOKIE_HTTPONLY"]
    assert config["SESSION_COOKIE_SAMESITE"] == config["REMEMBER_COOKIE_SAMESITE"] == "Lax"

    user = make_user(production_app, "consumer")
    web = WebClient(production_app)
    first = web.get("/login")
    response = web.post("/login", {"email": user.email, "password": PASSWORD, "remember": "yes"})

    assert response.status_code == 302
    assert {"secure", "httponly", "samesite=lax"} <= cookie_attributes(
        set_cookie_header(first, "session")
    )
    for name in ("session", "remember_token"):
        attributes = cookie_attributes(set_cookie_header(response, name))
        assert {"secure", "httponly", "samesite=lax"} <= attributes, (name, attributes)


# ---- API tokens on the account page -------------------------------------------------------------


def test_a_new_token_is_shown_once_and_works(app, web):
    user = make_user(app, "consumer")
    log_in(web, user.email)

    created = create_token(web, "CI deploy")

    assert created.status_code == 200
    [plain] = TOKEN.findall(page(created))
    assert "Copy it now: it will not be shown again." in page(created)
    me = api_with(app, plain).get("/api/v1/me")
    assert me.status_code == 200 and me.get_json()["email"] == user.email
    reloaded = web.get("/account")
    assert plain not in page(reloaded)
    assert TOKEN.findall(page(reloaded)) == []
    assert "CI deploy" in token_rows(reloaded)


def test_a_token_is_never_shown_again_anywhere(app, web):
    user = make_user(app, "consumer")
    log_in(web, user.email)
    [first] = TOKEN.findall(page(create_token(web, "first")))
    api_with(app, first).get("/api/v1/me")

    second_page = create_token(web, "second")

    [second] = TOKEN.findall(page(second_page))
    assert second != first and first not in page(second_page)
    for path in ("/account", "/disputes", "/notices"):
        shown = page(web.get(path))
        assert first not in shown and second not in shown, path
    assert set(token_rows(web.get("/account"))) == {"first", "second"}


def test_the_token_list_shows_names_expiry_and_when_each_was_last_used(app, web):
    user = make_user(app, "consumer")
    created_at = datetime(2031, 3, 14, 9, 26, tzinfo=UTC)
    used_at = created_at + timedelta(hours=2, minutes=5)
    with clock.travel_to(created_at):
        log_in(web, user.email)
        [plain] = TOKEN.findall(page(create_token(web, "CI deploy")))
        create_token(web, "reporting", expires_on="2031-04-01")

        rows = token_rows(web.get("/account"))
        assert rows["CI deploy"]["Last used"] == "never"
        assert rows["CI deploy"]["Expires"] == formatted(app, created_at + timedelta(days=90))
        assert rows["CI deploy"]["Scopes"] == "read, write"
        assert rows["CI deploy"]["Created"] == formatted(app, created_at)
        assert rows["reporting"]["Expires"] == formatted(
            app, datetime(2031, 4, 1, 23, 59, 59, 999999, tzinfo=UTC)
        )

        clock.advance(used_at - created_at)
        assert api_with(app, plain).get("/api/v1/me").status_code == 200
        log_in(web, user.email)  # the web session went idle meanwhile

        rows = token_rows(web.get("/account"))
        assert rows["CI deploy"]["Last used"] == formatted(app, used_at)
        assert rows["reporting"]["Last used"] == "never"


def test_a_revoked_token_is_refused_by_the_api(app, web):
    user = make_user(app, "consumer")
    log_in(web, user.email)
    [plain] = TOKEN.findall(page(create_token(web, "CI deploy")))
    client = api_with(app, plain)
    assert client.get("/api/v1/me").status_code == 200

    response = web.post(revoke_path(web.get("/account"), "CI deploy"))

    assert response.status_code == 303
    refused = client.get("/api/v1/me")
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    account = web.get("/account")
    assert "The token is revoked." in page(account)
    assert token_rows(account) == {}


def test_nobody_can_revoke_another_persons_token(app, make_web):
    owner, other = make_user(app, "consumer"), make_user(app, "consumer")
    owner_web, other_web = make_web(), make_web()
    log_in(owner_web, owner.email)
    created = create_token(owner_web, "CI deploy")
    [plain] = TOKEN.findall(page(created))
    path = revoke_path(owner_web.get("/account"), "CI deploy")
    log_in(other_web, other.email)

    assert other_web.post(path).status_code == 404
    assert api_with(app, plain).get("/api/v1/me").status_code == 200


def test_an_expired_token_is_refused_by_the_api(app, web):
    user = make_user(app, "consumer")
    start = datetime(2031, 3, 14, 9, 0, tzinfo=UTC)
    with clock.travel_to(start):
        log_in(web, user.email)
        [plain] = TOKEN.findall(page(create_token(web, "short-lived", expires_on="2031-03-16")))
        client = api_with(app, plain)

        with clock.travel_to(datetime(2031, 3, 16, 23, 59, tzinfo=UTC)):
            assert client.get("/api/v1/me").status_code == 200
        with clock.travel_to(datetime(2031, 3, 17, 0, 1, tzinfo=UTC)):
            assert client.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize(
    ("name", "expires_on", "field"),
    [
        ("", "", "token-name"),
        ("   ", "", "token-name"),
        ("x" * 101, "", "token-name"),
        ("CI deploy", "2000-01-01", "expires_on"),
        ("CI deploy", "tomorrow", "expires_on"),
        ("CI deploy", "2031-02-30", "expires_on"),
        ("CI deploy", "20310301", "expires_on"),
    ],
)
def test_a_token_needs_a_name_and_a_future_expiry(app, web, name, expires_on, field):
    user = make_user(app, "consumer")
    log_in(web, user.email)

    response = create_token(web, name, expires_on)

    assert response.status_code == 422
    assert field_errors(response) == [field]
    assert TOKEN.findall(page(response)) == []
    assert token_rows(web.get("/account")) == {}


# ---- deactivation -------------------------------------------------------------------------------


def test_a_deactivated_account_loses_its_sessions_and_tokens_at_once(app, make_web):
    user = make_user(app, "consumer")
    manager = make_user(app, "case_manager")
    browser, remembered = make_web(), make_web()
    log_in(browser, user.email)
    log_in(remembered, user.email, remember=True)
    stolen = remembered.client.get_cookie("remember_token").value
    [plain] = TOKEN.findall(page(create_token(browser, "CI deploy")))
    client = api_with(app, plain)
    assert client.get("/api/v1/me").status_code == 200
    staff = make_web()
    log_in(staff, manager.email)
    staff.get("/admin/users")

    response = staff.post(f"/admin/users/{user.id}/deactivate")

    assert response.status_code == 303
    assert "no longer work" in page(staff.get("/admin/users"))
    assert not logged_in(browser.client)
    assert not logged_in(remembered.client)
    assert not logged_in(replay(app, "remember_token", stolen))
    assert client.get("/api/v1/me").status_code == 401
    again = make_web()
    again.get("/login")
    assert again.post("/login", {"email": user.email, "password": PASSWORD}).status_code == 401


def test_only_a_case_manager_can_deactivate_an_account(app, make_web):
    user, other = make_user(app, "consumer"), make_user(app, "consumer")
    victim, attacker = make_web(), make_web()
    log_in(victim, user.email)
    log_in(attacker, other.email)

    assert attacker.post(f"/admin/users/{user.id}/deactivate").status_code == 404
    assert logged_in(victim.client)
