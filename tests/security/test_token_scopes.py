"""ASVS V8.1/V9.2: an API token opens only what its scopes name, and only for a while.

`read` lets a token read disputes, `write` act on them, `partner` use the referral endpoints.
Every token expires, 90 days after it is made unless told otherwise: on the account page, from
the command line, and for a partner agency's token. A request outside the token's scopes answers
403 naming the missing scope; an expired token answers 401.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import sqlalchemy as sa

from odr import clock
from odr.accounts.models import ApiToken
from odr.extensions import db
from tests.factories import PASSWORD, lodging_body, make_user
from tests.referrals.agency import Agency

TOKEN = re.compile(r'<p class="token">(odr_[A-Za-z0-9_\-]+)</p>')


def _token_on_the_page(server, user, **form) -> str:
    visitor = server.visitor()
    visitor.login(user.email, PASSWORD)
    visitor.get("/account")
    answer = visitor.post("/account/tokens", {"name": "integration", **form})
    [plain] = TOKEN.findall(answer.text)
    return plain


def _stored(server) -> list[ApiToken]:
    with server.app.app_context():
        rows = db.session.scalars(sa.select(ApiToken).order_by(ApiToken.id)).all()
        db.session.expunge_all()
    return list(rows)


def _refused_for_scope(answer, scope: str) -> None:
    assert answer.status_code == 403, (answer.status_code, answer.text[:300])
    problem = answer.json()
    assert problem["scope"] == scope
    assert f"'{scope}'" in problem["detail"]
    assert f'scope="{scope}"' in answer.headers["WWW-Authenticate"]


def _cli(server, *args: str):
    return server.app.test_cli_runner().invoke(args=["odr", "token", "create", *args])


def test_a_read_token_reads_but_cannot_act(server):
    consumer = make_user(server.app, "consumer")
    token = _token_on_the_page(server, consumer, scopes=["read"])
    visitor = server.visitor()

    assert visitor.api("GET", "/api/v1/disputes", token).status_code == 200
    _refused_for_scope(visitor.api("POST", "/api/v1/disputes", token, json=lodging_body()), "write")
    assert _stored(server)[0].scopes == ["read"]


def test_a_write_token_acts_but_cannot_read(server):
    consumer = make_user(server.app, "consumer")
    token = _token_on_the_page(server, consumer, scopes=["write"])
    visitor = server.visitor()

    lodged = visitor.api("POST", "/api/v1/disputes", token, json=lodging_body())
    assert lodged.status_code == 201, lodged.text[:300]
    _refused_for_scope(visitor.api("GET", f"/api/v1/disputes/{lodged.json()['id']}", token), "read")


def test_a_partner_token_opens_the_referrals_and_nothing_else(server):
    agency = Agency(server.app, "Schlichtung Online")
    consumer = make_user(server.app, "consumer")
    everyday = _token_on_the_page(server, consumer)
    visitor = server.visitor()

    assert visitor.api("GET", "/api/v1/referrals", agency.token).status_code == 200
    lodging = lodging_body()
    _refused_for_scope(visitor.api("POST", "/api/v1/disputes", agency.token, json=lodging), "write")
    _refused_for_scope(visitor.api("GET", "/api/v1/referrals", everyday), "partner")
    [partner_token, consumer_token] = _stored(server)
    assert partner_token.scopes == ["read", "partner"]
    assert consumer_token.scopes == ["read", "write"]
    me = visitor.api("GET", "/api/v1/me", agency.token).json()
    assert me["token"]["scopes"] == ["read", "partner"]
    assert datetime.fromisoformat(me["token"]["expires_at"]) == partner_token.expires_at

    desk = _cli(
        server, "--email", "desk@schlichtung-online.example", "--scope", "partner", "--json"
    )
    only_referrals = json.loads(desk.stdout)["token"]
    assert visitor.api("GET", "/api/v1/referrals", only_referrals).status_code == 200
    _refused_for_scope(visitor.api("GET", "/api/v1/disputes", only_referrals), "read")


def test_a_scope_the_role_cannot_hold_is_refused_naming_the_field(server):
    consumer = make_user(server.app, "consumer")
    visitor = server.visitor()
    visitor.login(consumer.email, PASSWORD)
    visitor.get("/account")

    answer = visitor.post("/account/tokens", {"name": "x", "scopes": ["read", "partner"]})

    assert answer.status_code == 422
    assert 'id="scopes-error"' in answer.text
    assert TOKEN.findall(answer.text) == [] and _stored(server) == []


def test_every_token_expires_after_90_days_unless_told_otherwise(server):
    consumer = make_user(server.app, "consumer", email="ci@example.com")
    before = clock.now()
    _token_on_the_page(server, consumer)
    agency = Agency(server.app, "Schlichtung Online")
    cli = _cli(server, "--email", "ci@example.com", "--json")
    after = clock.now()

    assert cli.exit_code == 0, cli.stderr
    printed = json.loads(cli.stdout)
    assert printed["token"].startswith("odr_") and printed["scopes"] == ["read", "write"]
    assert agency.token
    for token in _stored(server):
        assert before + timedelta(days=90) <= token.expires_at <= after + timedelta(days=90)
    expires = datetime.fromisoformat(printed["expires_at"])
    assert before + timedelta(days=90) <= expires <= after + timedelta(days=90)
    visitor = server.visitor()
    visitor.login(consumer.email, PASSWORD)
    row = re.search(
        r"<tr>\s*<td data-label=\"Name\">integration</td>(.*?)</tr>",
        visitor.get("/account").text,
        re.S,
    ).group(1)
    assert "never" not in row.split('data-label="Expires"')[1].split("</td>")[0]
    assert "read" in row and "write" in row


def test_the_command_line_takes_scopes_and_a_lifetime(server):
    make_user(server.app, "consumer", email="ci@example.com")
    before = clock.now()

    made = _cli(
        server, "--email", "ci@example.com", "--scope", "read", "--expires-in-days", "7", "--json"
    )

    assert made.exit_code == 0, made.stderr
    printed = json.loads(made.stdout)
    assert printed["scopes"] == ["read"]
    expires = datetime.fromisoformat(printed["expires_at"])
    assert before + timedelta(days=7) <= expires <= clock.now() + timedelta(days=7)
    visitor = server.visitor()
    assert visitor.api("GET", "/api/v1/disputes", printed["token"]).status_code == 200
    _refused_for_scope(
        visitor.api("POST", "/api/v1/disputes", printed["token"], json=lodging_body()), "write"
    )
    for bad in (["--scope", "partner"], ["--expires-in-days", "0"], ["--expires-in-days", "9999"]):
        refused = _cli(server, "--email", "ci@example.com", "--json", *bad)
        assert refused.exit_code != 0 and refused.stdout == "", bad
        assert ("scope" if "--scope" in bad else "expires") in refused.stderr


def test_an_expired_token_answers_401(server):
    consumer = make_user(server.app, "consumer")
    token = _token_on_the_page(server, consumer)
    visitor = server.visitor()
    assert visitor.api("GET", "/api/v1/me", token).status_code == 200

    with server.app.app_context():
        db.session.execute(
            sa.update(ApiToken).values(expires_at=clock.now() - timedelta(minutes=1))
        )
        db.session.commit()

    assert visitor.api("GET", "/api/v1/me", token).status_code == 401
