"""ASVS V6.3: guessing a password is slowed down, yet nobody can lock the owner out.

Failed log-ins are counted per account and per address, with delays that double; a browser that
has logged in to the account before (a signed device cookie, OWASP's device-cookie scheme) is
judged on its own failures only. Each attacker and owner below connects from an address of its
own on the loopback network (127.0.0.x), as clients behind different addresses would.
"""

from __future__ import annotations

import time

import pytest
import redis
from requests.adapters import HTTPAdapter

from tests.conftest import redis_url
from tests.factories import PASSWORD, make_user
from tests.security.conftest import start_server, stop_server

WRONG = "Guessed-Passw0rd-7731"
FREE_FAILURES = 5  # the default allowance of an account before the delays start
REDIS_URL = redis_url(11)  # a database number of this module's own
WARNING = "Someone is trying to log in to your ODR account"


class _FromAddress(HTTPAdapter):
    """Connects from a given loopback address, so the server sees a client of its own."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        return super().init_poolmanager(*args, **kwargs)


def browser(server, address: str):
    """A new browser (no cookies) at `address`."""
    visitor = server.visitor()
    visitor.http.mount("http://", _FromAddress(address))
    visitor.get("/login")
    return visitor


def log_in(visitor, email: str, password: str):
    return visitor.post("/login", {"email": email, "password": password})


def guess(server, email: str, address: str, times: int) -> list[int]:
    """A script guessing from one address: a new session for every attempt."""
    return [log_in(browser(server, address), email, WRONG).status_code for _ in range(times)]


def retry_after(response) -> int:
    assert response.status_code == 429, response.status_code
    return int(response.headers["Retry-After"])


def log_out(visitor) -> None:
    visitor.get("/disputes")
    assert visitor.post("/logout").status_code == 302
    visitor.get("/login")  # a new session, with a new CSRF token


@pytest.fixture(scope="module")
def lockout(mailbox):
    """One server with the limits on; each test guesses at accounts and addresses of its own."""
    served = start_server(mailbox, "security-lockout.db", RATELIMIT_ENABLED=True)
    yield served
    stop_server(served)


def test_someone_elses_guessing_never_locks_the_owner_out_of_a_browser_used_before(lockout):
    victim = make_user(lockout.app, email="victim@example.com")
    owner = browser(lockout, "127.0.0.3")
    assert log_in(owner, victim.email, PASSWORD).status_code == 302
    log_out(owner)

    statuses = guess(lockout, victim.email, "127.0.0.2", 12)
    assert statuses[:FREE_FAILURES] == [401] * FREE_FAILURES
    assert 429 in statuses

    back = log_in(owner, victim.email, PASSWORD)
    assert back.status_code == 302, back.text[:300]
    assert "/login" not in back.headers["Location"]
    # From the very address the guesses came from, the browser used before still gets in.
    log_out(owner)
    owner.http.mount("http://", _FromAddress("127.0.0.2"))
    assert log_in(owner, victim.email, PASSWORD).status_code == 302
    # A browser that never logged in meets the delay, even with the right password.
    assert retry_after(log_in(browser(lockout, "127.0.0.4"), victim.email, PASSWORD)) >= 1


def test_a_guessing_attacker_meets_delays_that_double(lockout):
    victim = make_user(lockout.app, email="guessed@example.com")
    assert guess(lockout, victim.email, "127.0.0.5", FREE_FAILURES) == [401] * FREE_FAILURES

    waits = []
    for _ in range(3):
        refused = log_in(browser(lockout, "127.0.0.5"), victim.email, WRONG)
        waits.append(retry_after(refused))
        assert "Too many attempts" in refused.text
        assert "try again in" in refused.text
        time.sleep(waits[-1] + 0.2)
        assert log_in(browser(lockout, "127.0.0.5"), victim.email, WRONG).status_code == 401
    assert waits == [1, 2, 4]
    # The account is delayed whichever address the next guess comes from.
    assert retry_after(log_in(browser(lockout, "127.0.0.6"), victim.email, WRONG)) >= 7


def test_one_address_guessing_many_accounts_is_delayed(lockout):
    victims = [make_user(lockout.app).email for _ in range(21)]
    statuses = [
        log_in(browser(lockout, "127.0.0.7"), email, WRONG).status_code for email in victims
    ]
    assert statuses[:20] == [401] * 20
    assert statuses[20] == 429
    # Another address, another account: not delayed.
    assert log_in(browser(lockout, "127.0.0.8"), victims[0], WRONG).status_code == 401


def test_guessing_from_a_trusted_browser_locks_out_that_browser_alone(lockout):
    victim = make_user(lockout.app, email="laptop.owner@example.com")
    laptop = browser(lockout, "127.0.0.9")
    assert log_in(laptop, victim.email, PASSWORD).status_code == 302
    log_out(laptop)

    for _ in range(FREE_FAILURES):
        assert log_in(laptop, victim.email, WRONG).status_code == 401
    assert retry_after(log_in(laptop, victim.email, PASSWORD)) >= 1

    # The owner's phone, never used before: the laptop's failures are not the account's.
    phone = browser(lockout, "127.0.0.10")
    assert log_in(phone, victim.email, PASSWORD).status_code == 302


def test_the_owner_is_warned_once_in_their_language(lockout, mailbox):
    victim = make_user(lockout.app, email="warned@example.com", language="zh_Hans")
    guess(lockout, victim.email, "127.0.0.11", FREE_FAILURES + 3)
    time.sleep(1.2)
    guess(lockout, victim.email, "127.0.0.12", 2)

    warnings = mailbox.to(victim.email)
    assert len(warnings) == 1, [m["Subject"] for m in warnings]
    [warning] = warnings
    assert warning["Content-Language"] == "zh_Hans"
    assert 'lang="zh-Hans"' in warning.get_body(("html",)).get_content()
    assert "/account" in warning.get_body(("plain",)).get_content()


def test_an_unknown_address_is_delayed_like_a_known_one_and_nobody_is_mailed(lockout, mailbox):
    statuses = guess(lockout, "nobody.here@example.com", "127.0.0.13", FREE_FAILURES + 1)
    assert statuses == [401] * FREE_FAILURES + [429]
    assert mailbox.messages == []


@pytest.fixture
def shared_redis():
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


def test_two_server_processes_on_one_redis_share_the_counters(start, shared_redis, mailbox):
    first = start("security-lockout-a.db", RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=REDIS_URL)
    second = start("security-lockout-b.db", RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=REDIS_URL)
    for served in (first, second):
        make_user(served.app, email="shared@example.com")
    owner = browser(first, "127.0.0.14")
    assert log_in(owner, "shared@example.com", PASSWORD).status_code == 302

    assert guess(first, "shared@example.com", "127.0.0.15", FREE_FAILURES) == [401] * 5
    assert retry_after(log_in(browser(second, "127.0.0.16"), "shared@example.com", WRONG)) == 1
    time.sleep(1.2)
    assert guess(second, "shared@example.com", "127.0.0.16", 1) == [401]
    assert retry_after(log_in(browser(first, "127.0.0.16"), "shared@example.com", WRONG)) == 2

    # The device cookie from the first process is good on the second.
    log_out(owner)
    owner.url = second.url
    owner.get("/login")
    assert log_in(owner, "shared@example.com", PASSWORD).status_code == 302
    assert len(mailbox.to("shared@example.com")) == 1
    keys = [key.decode() for key in redis.Redis.from_url(REDIS_URL).scan_iter()]
    assert keys and not any("shared" in key for key in keys), keys
