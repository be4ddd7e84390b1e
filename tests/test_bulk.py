"""Many rows in one statement: the same rows as one at a time, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from odr import clock
from odr.bulk import COPY_FROM, insert_many, insert_together, update_many
from odr.cases.models import Case, Event
from odr.delivery.models import OutboxMessage
from odr.extensions import db
from tests.factories import copy_case, lodge, make_user


# A few rows go as one JSON document; from COPY_FROM rows on, PostgreSQL gets them by COPY.
@pytest.mark.parametrize("count", [2, COPY_FROM + 1])
def test_inserted_rows_keep_their_types_and_get_their_defaults(app, count):
    shapes = [
        {"template": "t", "context": {"name": '李伟 "quoted" \\ <b>', "n": 3}, "list": [1, None]},
        {"template": "u", "context": {}},
        {"template": "tab\tnew\nline\\N", "context": {"null": None, "cr": "\r"}},
    ]
    payloads = [shapes[i % len(shapes)] for i in range(count)]
    with app.app_context():
        insert_many(
            db.session,
            OutboxMessage.__table__,
            [
                {
                    "kind": "mail",
                    "destination": f"a{i}@example.com",
                    "payload": payload,
                    "idempotency_key": f"bulk:{i}",
                    "case_id": None,
                    "last_error": f"{i}\ttab\nline \\N 李",
                }
                for i, payload in enumerate(payloads)
            ],
        )
        db.session.commit()
        rows = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [row.payload for row in rows] == payloads
        assert [row.attempts for row in rows] == [0] * count  # the column's default
        assert [row.case_id for row in rows] == [None] * count
        assert [row.last_error for row in rows] == [f"{i}\ttab\nline \\N 李" for i in range(count)]
        assert all(abs(row.next_attempt_at - clock.now()) < timedelta(minutes=1) for row in rows)
        assert all(row.next_attempt_at.tzinfo is UTC for row in rows)


# Several tables at once: on PostgreSQL, those of few rows in one statement, a larger one by COPY.
@pytest.mark.parametrize("mails", [1, COPY_FROM])
def test_rows_of_several_tables_are_inserted_together(app, api, mails):
    lodge(api.as_user(make_user(app, "consumer")))
    case_id = copy_case(app)
    with app.app_context():
        events = [
            {
                "case_id": case_id,
                "seq": seq,
                "at": clock.now(),
                "actor_id": None,
                "actor_role": "system",
                "kind": "noted",
                "data": {"n": seq, "text": "李 \t"},
                "prev_hash": "0" * 64,
                "hash": f"{seq:064d}",
            }
            for seq in (1, 2)
        ]
        outbox = [
            {"kind": "mail", "destination": f"m{n}@example.com", "payload": {"n": n},
             "idempotency_key": f"together:{mails}:{n}", "case_id": case_id}
            for n in range(mails)
        ]  # fmt: skip
        insert_together(db.session, {Event.__table__: events, OutboxMessage.__table__: outbox})
        db.session.commit()
        written = db.session.scalars(
            sa.select(Event).where(Event.case_id == case_id).order_by(Event.seq)
        ).all()
        sent = db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.case_id == case_id)
        ).all()
    assert [(e.seq, e.data, e.hash) for e in written] == [
        (1, {"n": 1, "text": "李 \t"}, f"{1:064d}"),
        (2, {"n": 2, "text": "李 \t"}, f"{2:064d}"),
    ]
    assert sorted(m.payload["n"] for m in sent) == list(range(mails))
    assert {m.attempts for m in sent} == {0}  # the column's default


PAY_BY = date(2027, 2, 1)


def test_updated_rows_take_each_their_own_values(app, api):
    lodge(api.as_user(make_user(app, "consumer")))
    ids = [copy_case(app) for _ in range(3)]
    moment = datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC)
    with app.app_context():
        untouched_deadline = db.session.get(Case, ids[2]).deadline_at
        changes = [
            {"id": ids[0], "state": "mediation", "deadline_at": moment, "performance_due": None},
            {"id": ids[1], "state": "settled", "deadline_at": None, "performance_due": PAY_BY},
        ]
        update_many(db.session, Case.__table__, changes)
        db.session.commit()
        got = db.session.execute(
            sa.select(Case.id, Case.state, Case.deadline_at, Case.performance_due)
            .where(Case.id.in_(ids))
            .order_by(Case.id)
        ).all()
    assert [tuple(row)[1:] for row in got] == [
        ("mediation", moment, None),
        ("settled", None, PAY_BY),
        ("negotiation", untouched_deadline, None),
    ]


# A table of counters (merchant records): rows of one key add up, then add to the row there.
@pytest.mark.parametrize("count", [1, COPY_FROM + 1])
def test_rows_of_a_table_of_counters_add_to_the_counts_already_there(app, count):
    from odr.analytics.models import MerchantRecord

    table = MerchantRecord.__table__
    zeros = {"disputes": 0, "settled": 0, "awarded": 0, "performed": 0, "not_performed": 0}
    with app.app_context():
        insert_many(
            db.session, table, [{"respondent_email": "a@shop.example", **zeros, "settled": 2}]
        )
        db.session.commit()
        rows = [
            {"respondent_email": f"{'ab'[n % 2]}@shop.example", **zeros, "disputes": 1}
            for n in range(count)
        ] + [{"respondent_email": "a@shop.example", **zeros, "performed": 1}]
        insert_many(db.session, table, rows)
        db.session.commit()
        records = {r.respondent_email: r for r in db.session.scalars(sa.select(MerchantRecord))}
        a, b = records["a@shop.example"], records.get("b@shop.example")
        assert (a.disputes, a.settled, a.performed) == ((count + 1) // 2, 2, 1)
        assert (b.disputes if b else 0) == count // 2
