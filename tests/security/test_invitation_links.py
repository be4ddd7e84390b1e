"""ASVS V3.5/V8.2: an invitation link does nothing by being opened.

A consumer who lodges a dispute naming an address of their own receives its invitation link and
can send it to any merchant. Opening it, or logging in after opening it, used to join the dispute
to the merchant's account. Now the link shows what joining means, and only a confirmed POST of a
logged-in merchant joins.
"""

from __future__ import annotations

import re

import requests
import sqlalchemy as sa

from odr.accounts.models import UsedLink
from odr.cases.models import Case, Event, RespondentLink
from odr.extensions import db
from tests.factories import PASSWORD, lodging_body, make_user, token_for

DECOY = "decoy@consumer-owned.example"


def _lodge(server) -> dict:
    claimant = make_user(server.app, "consumer", name="Wang Fang")
    answer = server.visitor().api(
        "POST", "/api/v1/disputes", token_for(server.app, claimant), json=lodging_body(DECOY)
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def _invitation(server, mailbox) -> str:
    [mail] = mailbox.to(DECOY)
    text = mail.get_body(preferencelist=("plain",)).get_content()
    return re.search(re.escape(server.url) + r"(/invitations/\S+)", text).group(1)


def _joined(server, dispute: dict) -> tuple[int, list[str], int]:
    """Respondent links, the dispute's event kinds, and spent links."""
    with server.app.app_context():
        case_id = db.session.scalar(sa.select(Case.id).where(Case.public_id == dispute["id"]))
        links = db.session.scalar(sa.select(sa.func.count()).select_from(RespondentLink))
        kinds = db.session.scalars(
            sa.select(Event.kind).where(Event.case_id == case_id).order_by(Event.seq)
        ).all()
        spent = db.session.scalar(sa.select(sa.func.count()).select_from(UsedLink))
    return links, list(kinds), spent


def test_opening_the_link_changes_nothing_and_shows_what_joining_means(server, mailbox):
    dispute = _lodge(server)
    path = _invitation(server, mailbox)
    merchant = make_user(server.app, "merchant", email="disputes@big-shop.example")
    visitor = server.visitor()
    visitor.login(merchant.email, PASSWORD)

    opened = visitor.get(path)

    assert opened.status_code == 200, (opened.status_code, opened.headers.get("Location"))
    assert _joined(server, dispute) == (0, ["lodged"], 0)
    assert dispute["reference"] in opened.text
    assert "Wang Fang" in opened.text  # who lodged it
    assert merchant.email in opened.text  # as which account it would join
    form = re.search(
        f'<form method="post" action="{re.escape(path)}"[^>]*>(.*?)</form>', opened.text, re.S
    )
    assert form and "<button" in form.group(1), "a button that confirms, by POST to the link"

    assert visitor.post(path).status_code == 303
    assert _joined(server, dispute) == (1, ["lodged", "respondent_joined"], 1)
    assert visitor.get(f"/disputes/{dispute['id']}").status_code == 200


def test_logging_in_after_opening_the_link_joins_nothing(server, mailbox):
    dispute = _lodge(server)
    path = _invitation(server, mailbox)
    merchant = make_user(server.app, "merchant", email="disputes@big-shop.example")
    visitor = server.visitor()
    assert visitor.get(path).status_code == 200

    visitor.get("/login")
    answer = visitor.post("/login", {"email": merchant.email, "password": PASSWORD})

    assert answer.status_code == 302
    assert answer.headers["Location"] == path  # back to the page that asks
    assert _joined(server, dispute) == (0, ["lodged"], 0)
    assert visitor.get(f"/disputes/{dispute['id']}").status_code == 404
    assert "<button" in visitor.get(path).text
    assert _joined(server, dispute) == (0, ["lodged"], 0)


def test_a_post_from_another_site_or_without_a_merchant_log_in_joins_nothing(server, mailbox):
    dispute = _lodge(server)
    path = _invitation(server, mailbox)
    merchant = make_user(server.app, "merchant", email="disputes@big-shop.example")
    consumer = make_user(server.app, "consumer")

    anonymous = server.visitor()
    assert anonymous.post(path).status_code == 302  # to the log-in page
    merchant_browser = server.visitor()
    merchant_browser.login(merchant.email, PASSWORD)
    forged = requests.post(
        server.url + path,
        cookies=merchant_browser.http.cookies,
        allow_redirects=False,
        timeout=30,
    )  # a cross-site form: the cookies, but no CSRF token
    assert forged.status_code == 400
    bystander = server.visitor()
    bystander.login(consumer.email, PASSWORD)
    refused = bystander.post(path)
    assert refused.status_code == 403
    assert "Only a merchant account can answer a dispute." in refused.text

    assert _joined(server, dispute) == (0, ["lodged"], 0)
