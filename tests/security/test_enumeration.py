"""ASVS V6.3.8: neither the answer nor its time tells whether an address has an account.

Sign-up, password reset and a merchant's "add staff" form are each sent, in turns, for an address
that has an account and for one that has none; the medians of their times over HTTP must be
close. The server hashes passwords at production cost (Argon2 defaults), as an attacker would
meet it. This checks behaviour, not speed: the margin allows for a busy machine.
"""

from __future__ import annotations

import itertools
import re
import statistics
import time
from collections.abc import Callable

import pytest

from odr.accounts.services import find_user_by_email
from tests.factories import make_user
from tests.security.conftest import signup_form, start_server, stop_server

ROUNDS = 20
RELATIVE = 0.25  # the fastest quarters within 25 % of the slower one...
ABSOLUTE_MS = 5.0  # ...or within 5 ms, whichever is larger (a few ms is scheduling noise)
PASSWORD = "unrelated owl 73 saucepan"

_serial = itertools.count(1)


@pytest.fixture(scope="module")
def served(mailbox):
    served = start_server(mailbox, "security-enumeration.db", ARGON2_CHEAP=False)
    yield served
    stop_server(served)


def fresh_address() -> str:
    return f"newcomer{next(_serial)}@example.com"


def timed(send: Callable[[], object]) -> float:
    started = time.perf_counter()
    response = send()
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code < 400, response.status_code
    return elapsed


def assert_alike(known: Callable, unknown: Callable) -> None:
    """Send both in turns (after one of each to warm up); their fastest quarters must be close.

    Other work on the machine only ever adds time, so the fast end of each series is what the
    request itself costs; a median moves with whatever else the cores are doing.
    """
    timed(known), timed(unknown)
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    for _ in range(ROUNDS):
        times["known"].append(timed(known))
        times["unknown"].append(timed(unknown))
    fast = {name: statistics.quantiles(values, n=4)[0] for name, values in times.items()}
    slower, faster = max(fast.values()), min(fast.values())
    allowed = max(RELATIVE * slower, ABSOLUTE_MS)
    assert slower - faster <= allowed, f"fastest quarter in ms: {fast}, allowed {allowed:.1f}"


def comparable(text: str, email: str) -> str:
    """A page with what legitimately differs (the address typed, the CSRF token) taken out."""
    text = text.replace(email, "EMAIL")
    return re.sub(r'name="csrf_token" value="[^"]+"', "", text)


# ---- sign-up -------------------------------------------------------------------------------------


def test_sign_up_takes_as_long_and_answers_the_same_for_a_known_address(served):
    owner = make_user(served.app, email="owner.signup@example.com")
    visitor = served.visitor()
    visitor.get("/signup")

    assert_alike(
        lambda: visitor.post("/signup", signup_form(owner.email, PASSWORD)),
        lambda: visitor.post("/signup", signup_form(fresh_address(), PASSWORD)),
    )
    new = fresh_address()
    known = visitor.post("/signup", signup_form(owner.email, PASSWORD))
    unknown = visitor.post("/signup", signup_form(new, PASSWORD))
    assert known.status_code == unknown.status_code == 200
    assert comparable(known.text, owner.email) == comparable(unknown.text, new)


# ---- password reset ------------------------------------------------------------------------------


def test_a_reset_takes_as_long_for_a_known_address_as_for_an_unknown_one(served):
    owner = make_user(served.app, email="owner.reset@example.com")
    visitor = served.visitor()
    visitor.get("/password/forgot")

    assert_alike(
        lambda: visitor.post("/password/forgot", {"email": owner.email}),
        lambda: visitor.post("/password/forgot", {"email": fresh_address()}),
    )


def test_a_reset_answers_the_same_and_mails_no_link_to_an_unknown_address(served, mailbox):
    owner = make_user(served.app, email="owner.reset.words@example.com")
    visitor = served.visitor()
    visitor.get("/password/forgot")
    new = fresh_address()

    known = visitor.post("/password/forgot", {"email": owner.email})
    unknown = visitor.post("/password/forgot", {"email": new})

    assert known.status_code == unknown.status_code == 200
    assert comparable(known.text, owner.email) == comparable(unknown.text, new)
    [reset] = mailbox.to(owner.email)
    assert "/password/reset/" in reset.get_body(("plain",)).get_content()
    [notice] = mailbox.to(new)
    assert "/password/reset/" not in notice.get_body(("plain",)).get_content()


# ---- a merchant adds staff -----------------------------------------------------------------------


def staff_form(email: str) -> dict[str, str]:
    return {"name": "Mei Chen", "email": email, "language": "en"}


def account_page(visitor) -> tuple[str, str]:
    """The account page after adding, and the message flashed on it."""
    page = visitor.get("/account").text
    return page, " ".join(re.findall(r'<p class="flash [a-z]+" role="status">(.*?)</p>', page))


def test_adding_staff_takes_as_long_for_a_known_address_as_for_a_new_one(served):
    owner = make_user(served.app, "merchant", email="owner.staff@example.com")
    taken = make_user(served.app, email="someone.taken@example.com")
    visitor = served.visitor()
    visitor.login(owner.email, "correct horse battery")
    visitor.get("/account")

    assert_alike(
        lambda: visitor.post("/account/staff", staff_form(taken.email)),
        lambda: visitor.post("/account/staff", staff_form(fresh_address())),
    )


def test_adding_staff_answers_the_same_and_mails_the_known_address_a_notice(served, mailbox):
    owner = make_user(served.app, "merchant", email="owner.staff.words@example.com")
    taken = make_user(served.app, email="taken.here@example.com", name="Taken Here")
    visitor = served.visitor()
    visitor.login(owner.email, "correct horse battery")
    visitor.get("/account")
    new = fresh_address()

    known = visitor.post("/account/staff", staff_form(taken.email))
    known_page, known_flash = account_page(visitor)
    unknown = visitor.post("/account/staff", staff_form(new))
    unknown_page, unknown_flash = account_page(visitor)

    assert known.status_code == unknown.status_code == 303
    assert known_flash and "already exists" not in known_flash
    # The message, and the staff list under it: nothing says which address had an account.
    assert comparable(known_page, taken.email) == comparable(unknown_page, new)
    [notice] = mailbox.to(taken.email)
    assert "Dear Taken Here," in notice.get_body(("plain",)).get_content()
    assert "/password/welcome/" not in notice.get_body(("plain",)).get_content()
    with served.app.app_context():
        assert find_user_by_email(taken.email).merchant_id is None
        assert find_user_by_email(new).merchant_id == owner.id


def test_adding_staff_is_rate_limited(start):
    limited = start("security-enumeration-limits.db", RATELIMIT_ENABLED=True)
    owner = make_user(limited.app, "merchant", email="owner.many@example.com")
    visitor = limited.visitor()
    visitor.login(owner.email, "correct horse battery")
    visitor.get("/account")

    statuses = [
        visitor.post("/account/staff", staff_form(fresh_address())).status_code for _ in range(25)
    ]
    assert statuses[0] == 303
    assert 429 in statuses
