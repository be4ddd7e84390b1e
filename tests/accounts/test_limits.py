"""Rate limits on log-in, sign-up, password reset and lodging (web and API): per IP address and
per account, POSTs only, lifting once the window has passed, with a 429 page in the user's
language and a problem document for the API. Run on the memory storage and on a real Redis.

Log-in is held by its own throttle (`odr.accounts.throttle`): wrong passwords, not requests, are
counted, and past the allowance each attempt waits a delay that doubles. Here its allowance is
set to LIMIT, so that it answers like the others; tests/security/test_lockout.py shows the
doubling and the browsers it never delays.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import redis
from babel.support import Translations
from markupsafe import escape

from odr import clock
from odr.config import PROJECT_ROOT
from odr.extensions import db
from odr.limits import limiter
from tests.conftest import WebClient, build_app, redis_url
from tests.factories import PASSWORD, lodging_body, make_user, token_for

REDIS_URL = redis_url(15)
STORAGES = {"memory": "memory://", "redis": REDIS_URL}
SETTINGS = ("RATELIMIT_SIGNUP", "RATELIMIT_RESET", "RATELIMIT_LODGE")
THROTTLE = "LOGIN_FREE_FAILURES"  # log-in's allowances of wrong passwords, all three at LIMIT

LIMIT = 3
WINDOW = 2  # seconds; the limiter counts on the wall clock
SHORT = f"{LIMIT} per {WINDOW} second"  # for waiting the window out
STEADY = f"{LIMIT} per minute"  # for counting: no window can lapse halfway through a test
LOOSE = "1000 per minute"  # the limits a test is not about (e.g. logging in before lodging)

WRONG_PASSWORD = "Guessed-Passw0rd-7731"
TOO_MANY = "Too many attempts. Please wait a little and try again."

_serial = itertools.count(1)


def _address() -> str:
    """A new IP address, never used before in this run."""
    n = next(_serial)
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


# ---- fixtures ------------------------------------------------------------------------------------


def _flush_redis() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    client.close()


def _redis_keys() -> list[str]:
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    keys = list(client.scan_iter())
    client.close()
    return keys


@pytest.fixture(params=list(STORAGES.values()), ids=list(STORAGES))
def storage(request):
    _flush_redis()
    yield request.param
    _flush_redis()


@pytest.fixture
def make_limited_app(storage, mailbox):
    """`make_limited_app(RATELIMIT_SIGNUP=STEADY)`: an app with limits on, the rest loose."""
    built = []
    enabled_before = limiter.enabled

    def make(**limits: Any):
        settings = dict.fromkeys(SETTINGS, LOOSE) | {"RATELIMIT_RESEND": LOOSE} | limits
        app = build_app(
            "sqlite",
            mailbox,
            name="limits.db",
            RATELIMIT_ENABLED=True,
            RATELIMIT_STORAGE_URI=storage,
            **settings,
        )
        built.append(app)
        return app

    yield make
    # There is one limiter per process and `init_app` switches it on for every app: put it back
    # as it was, so that apps built with limits off stay off for the tests that follow.
    limiter.enabled = enabled_before
    for app in built:
        with app.app_context():
            db.session.remove()
            with db.engine.begin() as connection:
                for table in reversed(db.metadata.sorted_tables):
                    connection.exec_driver_sql(f"DELETE FROM {table.name}")
            db.engine.dispose()


# ---- callers: someone at one IP address acting for one account -----------------------------------


class Visitor:
    """A browser at one IP address, sending the CSRF token of the pages it reads."""

    def __init__(self, app, ip: str, language: str = "en") -> None:
        self.web = WebClient(app)
        self.options = {
            "environ_base": {"REMOTE_ADDR": ip},
            "headers": {"Accept-Language": language},
        }

    def get(self, path: str):
        return self.web.get(path, **self.options)

    def post(self, path: str, data: dict):
        if self.web.csrf is None:
            self.get(path)
        return self.web.post(path, data, **self.options)

    def login(self, email: str, password: str = PASSWORD) -> Visitor:
        self.get("/login")
        response = self.post("/login", {"email": email, "password": password})
        assert response.status_code == 302, response.status_code
        self.get("/disputes")  # log-in starts a new session, with a new CSRF token
        return self


@dataclass
class FormCaller:
    """An anonymous form sent like a script would: a fresh session each time, same address."""

    app: Any
    ip: str
    path: str
    form: dict
    language: str = "en"

    def open_page(self):
        return Visitor(self.app, self.ip, self.language).get(self.path)

    def attempt(self):
        return Visitor(self.app, self.ip, self.language).post(self.path, self.form)


@dataclass
class LodgingPageCaller:
    """A logged-in user lodging on the web page."""

    visitor: Visitor

    def open_page(self):
        return self.visitor.get("/disputes/new")

    def attempt(self):
        return self.visitor.post("/disputes/new", lodging_form())


@dataclass
class ApiCaller:
    """An API client with a bearer token."""

    app: Any
    ip: str
    token: str
    language: str = "en"

    def _options(self) -> dict:
        headers = {"Authorization": f"Bearer {self.token}", "Accept-Language": self.language}
        return {"environ_base": {"REMOTE_ADDR": self.ip}, "headers": headers}

    def open_page(self):
        return self.app.test_client().get("/api/v1/disputes", **self._options())

    def attempt(self):
        return self.app.test_client().post(
            "/api/v1/disputes",
            data=json.dumps(lodging_body()),
            content_type="application/json",
            **self._options(),
        )


def lodging_form() -> dict:
    ordered = clock.today() - timedelta(days=10)
    return {
        "respondent.name": "Rheinland Electronics",
        "respondent.email": "shop@merchant.example",
        "respondent.country": "DE",
        "respondent.language": "en",
        "order.platform": "ShopWorld",
        "order.reference": f"R-{next(_serial)}",
        "order.ordered_on": ordered.isoformat(),
        "order.total.amount": "129.90",
        "order.total.currency": "EUR",
        "order.items.0.description": "Headphones",
        "order.items.0.quantity": "1",
        "claim.category": "defective",
        "claim.description": "Broken after a week.",
        "claim.remedy": "refund",
        "claim.amount.amount": "129.90",
        "claim.amount.currency": "EUR",
        "language": "en",
    }


def signup_form(email: str) -> dict:
    return {
        "name": "Li Wei",
        "email": email,
        "country": "CN",
        "language": "en",
        "timezone": "UTC",
        "role": "consumer",
        "password": PASSWORD,
        "terms": "yes",
    }


# ---- what is limited -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    name: str
    setting: str
    accepted: int  # the answer to an attempt that is let through
    new_account: Callable[..., Any]  # (app, language) -> an e-mail address, a user or a token
    caller: Callable[..., Any]  # (app, account, ip, language) -> something with attempt()

    def __str__(self) -> str:
        return self.name

    def limited(self, rate: str) -> dict[str, Any]:
        """The settings that let LIMIT attempts through (within `rate`'s window, if it has one)."""
        if self.setting == THROTTLE:
            kinds = ("ACCOUNT", "ADDRESS", "DEVICE")
            return {f"{THROTTLE}_{kind}": LIMIT for kind in kinds}
        return {self.setting: rate}


def _existing_email(app, language: str = "en") -> str:
    return make_user(app, "consumer", language=language).email


def _new_email(app, language: str = "en") -> str:
    return f"newcomer{next(_serial)}@example.com"


def _consumer(app, language: str = "en"):
    return make_user(app, "consumer", language=language)


def _token(app, language: str = "en") -> str:
    return token_for(app, make_user(app, "consumer", language=language))


LOGIN = Endpoint(
    "log-in",
    THROTTLE,
    401,  # a wrong password: the brute-force case
    _existing_email,
    lambda app, email, ip, language="en": FormCaller(
        app, ip, "/login", {"email": email, "password": WRONG_PASSWORD}, language
    ),
)
SIGNUP = Endpoint(
    "sign-up",
    "RATELIMIT_SIGNUP",
    200,
    _new_email,
    lambda app, email, ip, language="en": FormCaller(
        app, ip, "/signup", signup_form(email), language
    ),
)
RESET = Endpoint(
    "password-reset",
    "RATELIMIT_RESET",
    200,
    _existing_email,
    lambda app, email, ip, language="en": FormCaller(
        app, ip, "/password/forgot", {"email": email}, language
    ),
)
WEB_LODGE = Endpoint(
    "lodging-page",
    "RATELIMIT_LODGE",
    302,
    _consumer,
    lambda app, user, ip, language="en": LodgingPageCaller(
        Visitor(app, ip, language).login(user.email)
    ),
)
API_LODGE = Endpoint(
    "lodging-api",
    "RATELIMIT_LODGE",
    201,
    _token,
    lambda app, token, ip, language="en": ApiCaller(app, ip, token, language),
)
WEB_ENDPOINTS = [LOGIN, SIGNUP, RESET, WEB_LODGE]
ENDPOINTS = [*WEB_ENDPOINTS, API_LODGE]


def use_up(caller, endpoint: Endpoint) -> None:
    """The attempts the limit allows, each let through."""
    for n in range(LIMIT):
        status = caller.attempt().status_code
        assert status == endpoint.accepted, f"attempt {n + 1} of {LIMIT}: {status}"


# ---- per IP address, per account, POSTs only -----------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_one_address_is_limited_whatever_the_account(make_limited_app, endpoint):
    app = make_limited_app(**endpoint.limited(STEADY))
    crowded, other = _address(), _address()

    def attempt_from(ip: str):
        return endpoint.caller(app, endpoint.new_account(app), ip).attempt().status_code

    for n in range(LIMIT):
        assert attempt_from(crowded) == endpoint.accepted, f"attempt {n + 1} of {LIMIT}"
    assert attempt_from(crowded) == 429
    assert attempt_from(other) == endpoint.accepted


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_one_account_is_limited_whatever_the_address(make_limited_app, endpoint):
    app = make_limited_app(**endpoint.limited(STEADY))
    account = endpoint.new_account(app)
    addresses = [_address() for _ in range(LIMIT)]

    for n, ip in enumerate(addresses):
        status = endpoint.caller(app, account, ip).attempt().status_code
        assert status == endpoint.accepted, f"attempt {n + 1} of {LIMIT}"
    assert endpoint.caller(app, account, _address()).attempt().status_code == 429
    # Another account, from an address already used once: let through.
    another = endpoint.caller(app, endpoint.new_account(app), addresses[0])
    assert another.attempt().status_code == endpoint.accepted


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_reading_the_page_is_not_counted(make_limited_app, endpoint):
    app = make_limited_app(**endpoint.limited(STEADY))
    caller = endpoint.caller(app, endpoint.new_account(app), _address())
    for _ in range(3 * LIMIT):
        assert caller.open_page().status_code == 200
    use_up(caller, endpoint)
    assert caller.attempt().status_code == 429


def test_the_limit_lifts_once_the_window_has_passed(make_limited_app):
    app = make_limited_app(**{k: v for e in ENDPOINTS for k, v in e.limited(SHORT).items()})
    callers = {}
    for endpoint in ENDPOINTS:  # its own address and account each: lodging shares one setting
        caller = endpoint.caller(app, endpoint.new_account(app), _address())
        use_up(caller, endpoint)
        assert caller.attempt().status_code == 429, endpoint.name
        callers[endpoint] = caller

    time.sleep(WINDOW + 0.3)

    for endpoint, caller in callers.items():
        assert caller.attempt().status_code == endpoint.accepted, endpoint.name


# ---- what the refusal looks like -----------------------------------------------------------------


def _chinese(message: str) -> str:
    catalog = Translations.load(str(PROJECT_ROOT / "locales"), ["zh_Hans"])
    return catalog.gettext(message)


@pytest.mark.parametrize("endpoint", WEB_ENDPOINTS, ids=str)
def test_the_429_page_is_in_the_users_language(make_limited_app, endpoint):
    translated = _chinese(TOO_MANY)
    assert translated != TOO_MANY, "the zh_Hans catalog does not translate the 429 message"
    app = make_limited_app(**endpoint.limited(STEADY))
    account = endpoint.new_account(app, language="zh_Hans")
    caller = endpoint.caller(app, account, _address(), language="zh-CN")
    use_up(caller, endpoint)

    refused = caller.attempt()
    assert refused.status_code == 429
    assert refused.mimetype == "text/html"
    page = refused.get_data(as_text=True)
    assert str(escape(translated)) in page
    assert TOO_MANY not in page


def test_the_api_answers_429_with_a_problem_document(make_limited_app):
    app = make_limited_app(RATELIMIT_LODGE=STEADY)
    caller = API_LODGE.caller(app, API_LODGE.new_account(app), _address())
    use_up(caller, API_LODGE)

    refused = caller.attempt()
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    problem = refused.get_json()
    assert problem["status"] == 429
    assert problem["type"].endswith("/too-many-requests")
    assert problem["title"] == TOO_MANY
    assert "Retry-After" in refused.headers


# ---- what is written down ------------------------------------------------------------------------


@pytest.fixture
def login_app(make_limited_app):
    # Built before the test body: running the migrations reconfigures logging (alembic's
    # fileConfig), which would also drop the handler caplog installs for the test body.
    return make_limited_app(**LOGIN.limited(STEADY))


def test_failed_log_ins_are_logged_without_the_password(login_app, caplog):
    caplog.set_level(logging.DEBUG)
    caller = LOGIN.caller(login_app, LOGIN.new_account(login_app), _address())
    use_up(caller, LOGIN)
    assert caller.attempt().status_code == 429

    for record in caplog.records:
        assert WRONG_PASSWORD not in record.getMessage(), record.name
        assert WRONG_PASSWORD not in repr(record.args), record.name
    assert WRONG_PASSWORD not in caplog.text
    failed = [r for r in caplog.records if "failed log-in" in r.getMessage()]
    assert len(failed) == LIMIT, "each failed log-in is logged (the refused one never gets there)"


def test_counters_are_kept_in_the_configured_storage_without_addresses(make_limited_app, storage):
    app = make_limited_app(**LOGIN.limited(STEADY))
    email, address = LOGIN.new_account(app), _address()
    assert LOGIN.caller(app, email, address).attempt().status_code == LOGIN.accepted

    keys = _redis_keys()
    if storage == REDIS_URL:
        assert any("login:account:" in key for key in keys), keys
        assert any("login:address:" in key for key in keys), keys
        assert not any(address in key for key in keys), keys
        assert not any(email.split("@")[0] in key for key in keys), keys
    else:
        assert keys == []


def test_a_lodging_counts_its_address_and_its_account_with_a_window_each(make_limited_app, storage):
    """Both counters of a limited request are counted together (in Redis, one script call for
    both); each starts its window's expiry at its first hit."""
    app = make_limited_app(**API_LODGE.limited(SHORT))
    caller = API_LODGE.caller(app, API_LODGE.new_account(app), _address())
    assert caller.attempt().status_code == API_LODGE.accepted
    counters = app.extensions["odr.limits"].storage
    if storage == REDIS_URL:
        keys = [key.removeprefix("LIMITS:") for key in _redis_keys() if "LODGE" in key]
    else:
        keys = [key for key in counters.storage if "LODGE" in key]
    assert sorted(key.split("/")[1] for key in keys) == [
        "RATELIMIT_LODGE:account",
        "RATELIMIT_LODGE:ip",
    ], keys
    for key in keys:
        assert counters.get(key) == 1
        left = counters.get_expiry(key) - time.time()  # the window's end, not now
        assert WINDOW / 4 < left <= WINDOW


def test_memory_counters_start_no_thread_a_hit_and_give_expired_ones_back():
    """`memory://` is odr.limits.MemoryCounters: limits' own starts a timer thread on nearly
    every hit under steady traffic."""
    from limits import RateLimitItemPerSecond
    from limits.storage import storage_from_string
    from limits.strategies import FixedWindowRateLimiter

    from odr.limits import EXPIRE_EVERY, MemoryCounters

    storage = storage_from_string("memory://")
    assert isinstance(storage, MemoryCounters)
    counter = FixedWindowRateLimiter(storage)
    item = RateLimitItemPerSecond(2)
    started = threading.active_count()
    answers = []
    for _ in range(3):
        answers.append(counter.hit(item, "lodge", "10.0.0.1"))
        time.sleep(0.02)  # past limits' 10 ms timer: its storage would start a thread each time
    assert answers == [True, True, False]
    assert threading.active_count() <= started  # (the cancelled one of its start may end)
    time.sleep(max(1.05, EXPIRE_EVERY + 0.05))
    assert counter.hit(item, "lodge", "10.0.0.1")  # the window has passed
    assert len(storage.storage) == 1  # the expired counter was given back, the new one kept
