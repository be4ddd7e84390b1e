"""ASVS V7/V16: a link token mailed to someone is theirs alone: once the mail is out, neither the
outbox nor the server's access log keeps a copy anyone else could use."""

from __future__ import annotations

import json
import re

import sqlalchemy as sa

from odr.delivery.models import OutboxMessage
from odr.extensions import db
from tests.factories import make_user


def _mailed_link(mailbox, to: str, path: str) -> str:
    [message] = mailbox.to(to)
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(re.escape(path) + r"/\S+", text).group(0)


def test_a_reset_link_token_is_in_neither_the_outbox_nor_the_access_log(server, mailbox):
    user = make_user(server.app, email="owner@example.com")
    visitor = server.visitor()
    visitor.get("/password/forgot")
    assert visitor.post("/password/forgot", {"email": user.email}).status_code in (200, 302)
    link = _mailed_link(mailbox, user.email, f"{server.url}/password/reset")
    token = link.rsplit("/", 1)[-1]

    assert visitor.get(link.removeprefix(server.url)).status_code == 200
    with server.app.app_context():
        payloads = db.session.scalars(sa.select(OutboxMessage.payload)).all()
    assert payloads, "the reset mail went through the outbox"
    assert all(token not in json.dumps(payload) for payload in payloads)
    log = server.log_text()
    assert "/password/reset/" in log  # the request was logged ...
    assert token not in log  # ... without its token
