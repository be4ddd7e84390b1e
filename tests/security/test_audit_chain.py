"""ASVS V16 (security logging): the audit trail cannot be rewritten by someone with the database.

The attacker has the database (SQL through the server's engine) but not the audit key: they change
the amount of an accepted offer and recompute the chain and the head as the code once did (plain
SHA-256), or with a key of their own. `flask odr audit verify`, run as the operator runs it, names
the case and the event. Heads exported earlier catch even a rewrite made with the stolen key. Log-
ins, failed log-ins, password and token changes land in a keyed security log that holds no
password, token or e-mail address, and whose rewriting is detected the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from odr.accounts.audit import SecurityChain, SecurityEvent
from odr.cases.models import Case, Event
from odr.config import PROJECT_ROOT
from odr.extensions import db
from tests.conftest import _TMP
from tests.factories import PASSWORD, lodging_body, make_user, token_for

GENESIS = "0" * 64
Chain = Callable[[str, dict], str]


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def plain_sha256(prev: str, body: dict) -> str:
    """The chain as the code computed it before it was keyed."""
    return hashlib.sha256((prev + _canonical(body)).encode()).hexdigest()


def hmac_under(key: str) -> Chain:
    return lambda prev, body: hmac.new(
        key.encode(), (prev + _canonical(body)).encode(), "sha256"
    ).hexdigest()


def odr(server, *args: str) -> subprocess.CompletedProcess:
    """`flask --app app odr ...` as the operator runs it, on the server's database and key."""
    env = {
        **os.environ,
        "ODR_DATABASE_URL": server.config["SQLALCHEMY_DATABASE_URI"],
        "ODR_INSTANCE_DIR": str(_TMP),
        "ODR_AUDIT_KEY": server.app.config.get("AUDIT_KEY", ""),
    }
    env.pop("ODR_ENV", None)
    return subprocess.run(
        [str(PROJECT_ROOT / ".venv/bin/flask"), "--app", "app", "odr", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _settle(server) -> tuple[dict, int]:
    """Lodge a dispute and settle it by accepting the merchant's offer of 80 EUR, over HTTP."""
    claimant = token_for(server.app, make_user(server.app, "consumer"))
    merchant = token_for(
        server.app, make_user(server.app, "merchant", email="shop@merchant.example")
    )
    http = server.visitor()
    lodged = http.api("POST", "/api/v1/disputes", claimant, json=lodging_body())
    assert lodged.status_code == 201, lodged.text
    dispute = lodged.json()
    offer = http.api(
        "POST",
        f"/api/v1/disputes/{dispute['id']}/offers",
        merchant,
        json={"amount": {"amount": "80.00", "currency": "EUR"}, "remedy": "refund", "terms": "t"},
    )
    assert offer.status_code == 201, offer.text
    accepted = http.api(
        "POST", f"/api/v1/disputes/{dispute['id']}/offers/{offer.json()['id']}/accept", claimant
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "settled"
    with server.app.app_context():
        seq = db.session.scalar(
            sa.select(Event.seq)
            .join(Case, Case.id == Event.case_id)
            .where(Case.public_id == dispute["id"], Event.kind == "accept_offer")
        )
    assert seq is not None
    return dispute, seq


def rewrite_case(server, public_id: str, seq: int, change: Callable[[dict], dict], chain: Chain):
    """The attacker's SQL: change event `seq`, re-chain it and every later event, move the head."""
    events = Event.__table__
    with server.app.app_context(), db.engine.begin() as sql:
        case_id = sql.scalar(sa.select(Case.id).where(Case.public_id == public_id))
        rows = sql.execute(
            sa.select(events).where(events.c.case_id == case_id).order_by(events.c.seq)
        ).all()
        prev = rows[seq - 2].hash if seq > 1 else GENESIS
        for row in rows[seq - 1 :]:
            data = change(dict(row.data)) if row.seq == seq else row.data
            body = {
                "case": public_id,
                "seq": row.seq,
                "at": row.at.isoformat(),
                "actor_id": row.actor_id,
                "actor_role": row.actor_role,
                "kind": row.kind,
                "data": data,
            }
            digest = chain(prev, body)
            sql.execute(
                sa.update(events)
                .where(events.c.id == row.id)
                .values(data=data, prev_hash=prev, hash=digest)
            )
            prev = digest
        sql.execute(sa.update(Case.__table__).where(Case.id == case_id).values(event_head=prev))


def _one_cent(data: dict) -> dict:
    return {**data, "amount": 1}


def test_a_rewritten_accepted_amount_is_named_by_audit_verify(server):
    dispute, seq = _settle(server)
    assert odr(server, "audit", "verify").returncode == 0

    for chain in (plain_sha256, hmac_under("a-key-the-attacker-made-up-" + "x" * 20)):
        rewrite_case(server, dispute["id"], seq, _one_cent, chain)
        result = odr(server, "audit", "verify")
        assert result.returncode == 1, result.stderr
        assert f"{dispute['reference']}: event {seq} was altered" in result.stderr


def test_exported_heads_catch_a_rewrite_made_with_the_stolen_key(server, tmp_path: Path):
    dispute, seq = _settle(server)
    heads = tmp_path / "heads.json"
    exported = odr(server, "audit", "heads", "--out", str(heads))
    assert exported.returncode == 0, exported.stderr
    document = json.loads(heads.read_text())
    count, head = _chain_end(server, dispute)
    assert count > seq  # the settlement's own events follow the acceptance
    assert {"reference": dispute["reference"], "events": count, "head": head} in document["cases"]
    assert document["exported_at"] and document["mac"]

    # Later the attacker steals the key: the rewritten chain is well-formed...
    rewrite_case(server, dispute["id"], seq, _one_cent, hmac_under(server.app.config["AUDIT_KEY"]))
    assert odr(server, "audit", "verify").returncode == 0
    # ...but no longer ends where the exported head said it did.
    result = odr(server, "audit", "verify", "--heads", str(heads))
    assert result.returncode == 1, result.stderr
    assert f"{dispute['reference']}: event {count} is not the one exported" in result.stderr

    # The exported file edited to match the rewrite is refused: it is authenticated too.
    for entry in document["cases"]:
        if entry["reference"] == dispute["reference"]:
            entry["head"] = _chain_end(server, dispute)[1]
    heads.write_text(json.dumps(document))
    forged = odr(server, "audit", "verify", "--heads", str(heads))
    assert forged.returncode == 2
    assert "error: --heads: the file is not authentic" in forged.stderr


def test_exported_heads_catch_a_truncated_chain(server, tmp_path: Path):
    dispute, seq = _settle(server)
    count, _head = _chain_end(server, dispute)
    heads = tmp_path / "heads.json"
    assert odr(server, "audit", "heads", "--out", str(heads)).returncode == 0
    # Cutting the last events and moving the head back needs no key at all.
    with server.app.app_context(), db.engine.begin() as sql:
        case_id = sql.scalar(sa.select(Case.id).where(Case.public_id == dispute["id"]))
        sql.execute(sa.delete(Event).where(Event.case_id == case_id, Event.seq >= seq))
        prev = sql.scalar(
            sa.select(Event.hash).where(Event.case_id == case_id, Event.seq == seq - 1)
        )
        sql.execute(
            sa.update(Case).where(Case.id == case_id).values(event_count=seq - 1, event_head=prev)
        )
    assert odr(server, "audit", "verify").returncode == 0
    result = odr(server, "audit", "verify", "--heads", str(heads))
    assert result.returncode == 1
    assert f"{dispute['reference']}: event {count} is missing" in result.stderr


def _chain_end(server, dispute: dict) -> tuple[int, str]:
    with server.app.app_context():
        return tuple(
            db.session.execute(
                sa.select(Case.event_count, Case.event_head).where(Case.public_id == dispute["id"])
            ).one()
        )


def test_account_security_events_are_recorded_keyed_and_without_secrets(server):
    user = make_user(server.app, "consumer", email="owner@example.com")
    stranger = "nobody-here@example.com"
    new_password = "a different horse staple 42"
    browser = server.visitor()
    browser.get("/login")
    assert (
        browser.post("/login", {"email": user.email, "password": "wrong " + PASSWORD}).status_code
        == 401
    )
    assert browser.post("/login", {"email": stranger, "password": PASSWORD}).status_code == 401
    assert browser.login(user.email, PASSWORD).status_code == 302
    browser.get("/account")
    changed = browser.post(
        "/account/password",
        {"password": PASSWORD, "new_password": new_password, "confirm_password": new_password},
    )
    assert changed.status_code == 303, changed.text[:300]
    browser.get("/account")
    page = browser.post("/account/tokens", {"name": "laptop"})
    plain = re.search(r"odr_[A-Za-z0-9_-]{20,}", page.text).group(0)
    with server.app.app_context():
        from odr.accounts.models import ApiToken

        token_id = db.session.scalar(sa.select(ApiToken.id).where(ApiToken.user_id == user.id))
    revoked = browser.post(f"/account/tokens/{token_id}/revoke")
    assert revoked.status_code == 303
    browser.post("/logout")

    with server.app.app_context():
        rows = db.session.scalars(sa.select(SecurityEvent).order_by(SecurityEvent.id)).all()
        recorded = [(row.kind, row.user_id, row.data) for row in rows]
        texts = [json.dumps([row.at.isoformat(), row.kind, row.data, row.hash]) for row in rows]
    kinds = [(kind, user_id) for kind, user_id, _data in recorded]
    wanted = [
        ("login_failed", user.id),
        ("login_failed", None),
        ("login", user.id),
        ("password_changed", user.id),
        ("token_created", user.id),
        ("token_revoked", user.id),
        ("logout", user.id),
    ]
    remaining = iter(kinds)
    assert all(step in remaining for step in wanted), kinds  # in this order
    failed_stranger = next(d for k, u, d in recorded if k == "login_failed" and u is None)
    assert re.fullmatch(r"[0-9a-f]{32,64}", failed_stranger["email_hash"])
    created = next(d for k, u, d in recorded if k == "token_created")
    assert created["token_id"] == token_id
    for text in texts:
        for secret in (PASSWORD, new_password, plain, plain[4:], user.email, stranger, "owner@"):
            assert secret not in text, (secret, text)

    assert odr(server, "audit", "verify").returncode == 0
    # Rewriting the security log (here: erasing that the stranger's address was tried) fails.
    position = kinds.index(("login_failed", None)) + 1  # ids count from 1 in chain order
    _rewrite_security_event(server, position)
    result = odr(server, "audit", "verify")
    assert result.returncode == 1
    assert f"security events: event {position} was altered" in result.stderr, result.stderr


def _rewrite_security_event(server, position: int) -> None:
    """Change the `position`th security event and re-chain the log after it with plain SHA-256."""
    table = SecurityEvent.__table__
    with server.app.app_context(), db.engine.begin() as sql:
        rows = sql.execute(sa.select(table).order_by(table.c.id)).all()
        prev = rows[position - 2].hash if position > 1 else GENESIS
        for row in rows[position - 1 :]:
            data = {**row.data, "email_hash": "0" * 32} if row.id == position else row.data
            body = {
                "log": "security",
                "seq": row.id,
                "at": row.at.isoformat(),
                "kind": row.kind,
                "user_id": row.user_id,
                "data": data,
            }
            digest = plain_sha256(prev, body)
            sql.execute(
                sa.update(table)
                .where(table.c.id == row.id)
                .values(data=data, prev_hash=prev, hash=digest)
            )
            prev = digest
        sql.execute(sa.update(SecurityChain.__table__).values(head=prev))
