"""`flask odr audit verify` names the dispute whose event chain was altered or cut."""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa

from odr.cases.models import Case, Event
from odr.extensions import db
from tests.conftest import build_app
from tests.factories import ApiClient, lodge, make_user


def _setup(app, api):
    consumer = make_user(app, "consumer")
    merchant = make_user(app, "merchant", email="shop@merchant.example")
    claimant = api.as_user(consumer)
    first, second = lodge(claimant), lodge(claimant)
    api.as_user(merchant).post(
        f"/api/v1/disputes/{second['id']}/offers",
        {"amount": {"amount": "5.00", "currency": "EUR"}, "remedy": "refund", "terms": "t"},
    )
    claimant.post(f"/api/v1/disputes/{second['id']}/actions/escalate", {"reason": "no answer"})
    return first, second


def _verify(app):
    return app.test_cli_runner().invoke(args=["odr", "audit", "verify"])


def test_intact_chains_verify(app, api):
    _setup(app, api)
    result = _verify(app)
    assert result.exit_code == 0, result.stderr
    assert "intact" in result.stderr


def test_an_altered_event_is_named(app, api):
    first, second = _setup(app, api)
    with app.app_context():
        case_id = db.session.scalar(sa.select(Case.id).where(Case.public_id == second["id"]))
        db.session.execute(
            sa.update(Event)
            .where(Event.case_id == case_id, Event.seq == 2)
            .values(data={"offer": "x", "amount": 1, "currency": "EUR"})
        )
        db.session.commit()
    result = _verify(app)
    assert result.exit_code == 1
    assert f"{second['reference']}: event 2 was altered" in result.stderr
    assert first["reference"] not in result.stderr


def test_a_removed_event_is_named(app, api):
    _first, second = _setup(app, api)
    with app.app_context():
        case_id = db.session.scalar(sa.select(Case.id).where(Case.public_id == second["id"]))
        last = db.session.scalar(sa.select(sa.func.max(Event.seq)).where(Event.case_id == case_id))
        db.session.execute(sa.delete(Event).where(Event.case_id == case_id, Event.seq == last))
        db.session.commit()
    result = _verify(app)
    assert result.exit_code == 1
    assert second["reference"] in result.stderr
    assert "missing" in result.stderr


def test_the_timeline_is_served_in_order_with_hashes(app, api):
    consumer = make_user(app, "consumer")
    claimant = api.as_user(consumer)
    dispute = lodge(claimant)
    claimant.post(f"/api/v1/disputes/{dispute['id']}/actions/withdraw", {"reason": "sorted out"})
    events = claimant.get(f"/api/v1/disputes/{dispute['id']}/events").get_json()["items"]
    assert [e["kind"] for e in events] == ["lodged", "withdraw"]
    assert events[1]["data"]["from"] == "negotiation" and events[1]["data"]["to"] == "withdrawn"
    assert len({e["hash"] for e in events}) == 2


# ---- the keyed chain, exported heads, the security log -------------------------------------------


def _rechain_with_the_key(app, case_id: int, seq: int, data: dict) -> None:
    """What someone holding the audit key could do: change event `seq`, chain it all again."""
    from odr.cases.events import event_hash

    with app.app_context():
        case = db.session.get(Case, case_id)
        events = db.session.scalars(
            sa.select(Event).where(Event.case_id == case_id).order_by(Event.seq)
        ).all()
        previous = events[seq - 2].hash if seq > 1 else "0" * 64
        for event in events[seq - 1 :]:
            if event.seq == seq:
                event.data = data
            event.prev_hash = previous
            event.hash = previous = event_hash(case, event)
        case.event_head = previous
        db.session.commit()


def test_exported_heads_hold_until_the_history_before_them_changes(app, api, tmp_path):
    first, second = _setup(app, api)
    heads = tmp_path / "heads.json"
    runner = app.test_cli_runner()
    assert runner.invoke(args=["odr", "audit", "heads", "--out", str(heads)]).exit_code == 0
    checked = runner.invoke(args=["odr", "audit", "verify", "--heads", str(heads)])
    assert checked.exit_code == 0, checked.stderr
    assert "is in place" in checked.stderr

    with app.app_context():
        case_id = db.session.scalar(sa.select(Case.id).where(Case.public_id == second["id"]))
        count = db.session.get(Case, case_id).event_count
    _rechain_with_the_key(app, case_id, 2, {"offer": "x", "amount": 1, "currency": "EUR"})
    assert _verify(app).exit_code == 0  # well-formed: made with the key
    result = runner.invoke(args=["odr", "audit", "verify", "--heads", str(heads)])
    assert result.exit_code == 1
    assert f"{second['reference']}: event {count} is not the one exported" in result.stderr
    assert first["reference"] not in result.stderr


def test_a_heads_file_that_is_not_authentic_is_refused(app, api, tmp_path):
    _setup(app, api)
    heads = tmp_path / "heads.json"
    runner = app.test_cli_runner()
    runner.invoke(args=["odr", "audit", "heads", "--out", str(heads)])
    document = json.loads(heads.read_text())
    document["cases"][0]["events"] += 1
    heads.write_text(json.dumps(document))
    result = runner.invoke(args=["odr", "audit", "verify", "--heads", str(heads)])
    assert result.exit_code == 2
    assert "error: --heads: the file is not authentic" in result.stderr


def test_security_events_chain_and_an_altered_one_is_named(app, web):
    from odr.accounts.audit import SecurityEvent

    user = make_user(app, "consumer")
    web.get("/login")
    web.post("/login", {"email": user.email, "password": "not the password"})
    web.login(user.email)
    assert _verify(app).exit_code == 0
    with app.app_context():
        kinds = db.session.scalars(sa.select(SecurityEvent.kind).order_by(SecurityEvent.id)).all()
        assert kinds == ["login_failed", "login"]
        db.session.execute(
            sa.update(SecurityEvent).where(SecurityEvent.id == 1).values(user_id=None)
        )
        db.session.commit()
    result = _verify(app)
    assert result.exit_code == 1
    assert "security events: event 1 was altered" in result.stderr


def _sha256_chain_holds(app, case_id: int) -> bool:
    """The chain as it was computed before it was keyed."""
    with app.app_context():
        # The columns it reads, not the model: the downgraded table lacks later columns.
        case = db.session.execute(
            sa.select(Case.public_id, Case.event_head).where(Case.id == case_id)
        ).one()
        previous = "0" * 64
        for event in db.session.scalars(
            sa.select(Event).where(Event.case_id == case_id).order_by(Event.seq)
        ):
            body = {
                "case": case.public_id,
                "seq": event.seq,
                "at": event.at.isoformat(),
                "actor_id": event.actor_id,
                "actor_role": event.actor_role,
                "kind": event.kind,
                "data": event.data,
            }
            text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            if hashlib.sha256((previous + text).encode()).hexdigest() != event.hash:
                return False
            previous = event.hash
        return previous == case.event_head


def test_the_migration_keys_the_sha256_chains_it_finds(app, api, mailbox):
    """Upgrading re-chains every intact SHA-256 chain under the key; a broken one stays broken."""
    from flask_migrate import downgrade, upgrade

    fresh = build_app(app.backend, mailbox, name="rekeying.db")
    try:
        intact, broken = _setup(fresh, ApiClient(fresh))
        with fresh.app_context():
            ids = {
                key: db.session.scalar(sa.select(Case.id).where(Case.public_id == dispute["id"]))
                for key, dispute in (("intact", intact), ("broken", broken))
            }
            db.session.remove()  # a reading transaction left open would hold off the ALTER TABLEs
            downgrade(revision="b3f1e8a9c2d4")
        assert _sha256_chain_holds(fresh, ids["intact"]) and _sha256_chain_holds(
            fresh, ids["broken"]
        )
        with fresh.app_context():
            db.session.execute(
                sa.update(Event)
                .where(Event.case_id == ids["broken"], Event.seq == 2)
                .values(data={"offer": "x", "amount": 1, "currency": "EUR"})
            )
            db.session.commit()
            upgrade()
        assert not _sha256_chain_holds(fresh, ids["intact"])
        result = _verify(fresh)
        assert result.exit_code == 1
        assert broken["reference"] in result.stderr
        assert intact["reference"] not in result.stderr
    finally:
        with fresh.app_context():
            db.session.remove()
            db.engine.dispose()


def test_security_events_written_at_once_make_one_chain(app):
    """Appends are serialised on the head row, so concurrent writers never fork the chain."""
    import threading

    from odr.accounts.audit import first_broken_security_event, record_security_event_now

    writers, each = 6, 5
    barrier = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write(index: int) -> None:
        with app.app_context():
            try:
                barrier.wait()
                for _ in range(each):
                    record_security_event_now("login", user_id=index)
            except BaseException as error:  # reported below, with the chain
                failures.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    with app.app_context():
        from odr.accounts.audit import security_head

        assert security_head()[0] == writers * each
        assert first_broken_security_event() is None
