"""The caseload workspace of neutrals and the case managers' desk: who sees what, each filter and
sort, keyset pages without gaps or repeats, counts, and what waits on whom."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
import sqlalchemy as sa

from odr import clock
from odr.cases.models import Case
from odr.errors import ValidationError
from odr.extensions import db
from odr.mediation.workspace import Filters, parse_filters, workspace_page
from tests.factories import Dispute, copy_case, make_neutral, make_user


def page_for(app, user, limit: int = 50, **filters):
    from odr.accounts.models import User

    with app.app_context():
        reader = db.session.get(User, user.id)
        page = workspace_page(reader, Filters(**filters), limit=limit)
        db.session.expunge_all()
        return page


def references(page) -> list[str]:
    return [row.case.reference for row in page.rows]


@pytest.fixture
def people(app, api):
    people = {
        "mediator": make_neutral(app, "mediator", ["en"]),
        "other_mediator": make_neutral(app, "mediator", ["en"]),
        "arbitrator": make_neutral(app, "arbitrator", ["en"]),
        "case_manager": make_user(app, "case_manager"),
    }
    Dispute(app, api)  # the template the copies are made from
    return people


def mediation_case(app, mediator, **columns) -> str:
    columns = {
        "state": "mediation",
        "mediator_id": mediator.id,
        "deadline_at": clock.now() + timedelta(days=10),
        **columns,
    }
    case_id = copy_case(app, **columns)
    with app.app_context():
        return db.session.get(Case, case_id).reference


def test_a_neutral_sees_only_open_cases_of_their_stage_assigned_to_them(app, people):
    mine = mediation_case(app, people["mediator"])
    theirs = mediation_case(app, people["other_mediator"])
    settled = mediation_case(app, people["mediator"], state="settled")
    arbitration = mediation_case(
        app, people["mediator"], state="arbitration", arbitrator_id=people["arbitrator"].id
    )
    assert references(page_for(app, people["mediator"])) == [mine]
    assert references(page_for(app, people["arbitrator"])) == [arbitration]
    everyone = set(references(page_for(app, people["case_manager"])))
    assert {mine, theirs, arbitration} <= everyone and settled not in everyone


def test_who_may_open_the_workspace_and_the_desk(app, people, make_web):
    mediation_case(app, people["mediator"])
    for who, path, status in [
        ("mediator", "/workspace", 200),
        ("arbitrator", "/workspace", 200),
        ("case_manager", "/workspace", 403),
        ("case_manager", "/desk", 200),
        ("mediator", "/desk", 403),
    ]:
        page = make_web()
        page.login(people[who].email)
        assert page.get(path).status_code == status, (who, path)
    consumer = make_web()
    consumer.login(make_user(app, "consumer").email)
    assert consumer.get("/workspace").status_code == 403
    assert consumer.get("/desk").status_code == 403
    assert make_web().get("/workspace").status_code in (302, 401)


def test_each_filter_narrows_the_cases(app, people):
    mediator = people["mediator"]
    soon = mediation_case(app, mediator, deadline_at=clock.now() + timedelta(days=2))
    late = mediation_case(app, mediator, deadline_at=clock.now() + timedelta(days=25))
    overdue = mediation_case(app, mediator, deadline_at=clock.now() - timedelta(hours=3))
    chinese = mediation_case(app, mediator, claimant_language="zh_Hans", claimant_country="TW")
    named = mediation_case(app, mediator, respondent_name="Pearl River Trading Ltd")

    def found(**filters):
        return set(references(page_for(app, mediator, **filters)))

    everything = {soon, late, overdue, chinese, named}
    assert found() == everything
    assert found(due_within_days=3) == {soon, overdue}
    assert found(overdue=True) == {overdue}
    assert found(language="zh_Hans") == {chinese}
    assert found(country="TW") == {chinese}
    assert found(country="DE") == everything  # every respondent of the template is German
    assert found(text="pearl river") == {named}
    assert found(text=soon[-6:]) == {soon}
    assert found(text="100%_") == set()  # LIKE wildcards are taken literally
    assert found(language="en", due_within_days=3) == {soon, overdue}


def test_the_desk_filters_by_stage_and_by_neutral(app, people):
    in_mediation = mediation_case(app, people["mediator"])
    other = mediation_case(app, people["other_mediator"])
    filed = mediation_case(app, people["mediator"], state="filed", mediator_id=None)
    manager = people["case_manager"]
    assert set(references(page_for(app, manager, state="filed"))) == {filed}
    by_neutral = set(references(page_for(app, manager, neutral_id=people["mediator"].id)))
    assert in_mediation in by_neutral and other not in by_neutral


def test_sorting_by_deadline_newest_and_reference(app, people):
    mediator = people["mediator"]
    now = clock.now()
    a = mediation_case(app, mediator, deadline_at=now + timedelta(days=3), created_at=now)
    b = mediation_case(
        app, mediator, deadline_at=now + timedelta(days=1), created_at=now + timedelta(hours=1)
    )
    c = mediation_case(
        app, mediator, deadline_at=now + timedelta(days=2), created_at=now - timedelta(hours=1)
    )
    assert references(page_for(app, mediator, sort="deadline")) == [b, c, a]
    assert references(page_for(app, mediator, sort="newest")) == [b, a, c]
    assert references(page_for(app, mediator, sort="reference")) == sorted([a, b, c])


@pytest.mark.parametrize("sort", ["deadline", "newest", "reference"])
def test_pages_have_no_gaps_or_repeats_while_cases_arrive(app, people, sort):
    mediator = people["mediator"]
    now = clock.now()
    same_deadline = now + timedelta(days=5)  # ties are broken by the id
    original = {
        mediation_case(
            app,
            mediator,
            deadline_at=same_deadline if n % 2 else now + timedelta(days=n),
            created_at=now - timedelta(minutes=n),
        )
        for n in range(11)
    }
    seen: list[str] = []
    cursor = None
    for n in range(10):
        page = page_for(app, mediator, sort=sort, cursor=cursor, limit=3)
        seen += references(page)
        # New cases arrive between pages, before and after the reader's position.
        mediation_case(app, mediator, deadline_at=now + timedelta(days=n % 3), created_at=now)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert original <= set(seen)


@pytest.mark.parametrize("sort", ["deadline", "newest", "reference"])
def test_a_page_of_rows_is_one_query_whatever_its_length(app, people, sort):
    from odr.accounts.models import User
    from odr.mediation.workspace import workspace_rows

    mediator = people["mediator"]
    for n in range(12):
        mediation_case(app, mediator, deadline_at=clock.now() + timedelta(days=n))
    statements = []

    def count(*args):
        statements.append(args[2])

    with app.app_context():
        reader = db.session.get(User, mediator.id)
        for limit in (2, 10):
            sa.event.listen(db.engine, "before_cursor_execute", count)
            try:
                rows, cursor = workspace_rows(reader, Filters(sort=sort), limit=limit)
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", count)
            assert len(rows) == limit and cursor is not None
    assert len(statements) == 2  # one for each page


def test_counts_per_stage_follow_the_filters_but_not_the_stage(app, people):
    manager = people["case_manager"]
    mediation_case(app, people["mediator"])
    mediation_case(app, people["mediator"], claimant_country="TW")
    mediation_case(app, people["mediator"], state="filed", mediator_id=None)
    counts = page_for(app, manager, state="mediation").counts
    assert counts["mediation"] == 2 and counts["filed"] == 1
    assert page_for(app, manager, country="TW").counts == {"mediation": 1}


def test_what_waits_on_whom_and_unread_messages(app, api, people, make_web):
    mediator = people["mediator"]
    dispute = Dispute(app, api, respondent_email="second@shop.example")
    dispute.to_mediation()
    dispute.propose(mediator)
    dispute.must("claimant", "accept_proposal")
    dispute.must("claimant", "post_message", body="hello")
    dispute.must("respondent", "post_message", body="hi", channel="private")
    row = next(
        r for r in page_for(app, mediator).rows if r.case.reference == dispute.data["reference"]
    )
    assert (row.waiting_for, row.waiting_on, row.unread) == ("proposal", ["respondent"], 2)

    reader = make_web()
    reader.login(mediator.email)
    text = html.unescape(reader.get("/workspace").get_data(as_text=True))
    assert dispute.data["reference"] in text and "answer to the proposal: Merchant" in text
    reader.get(f"/disputes/{dispute.id}")  # opening the case reads its messages
    row = next(
        r for r in page_for(app, mediator).rows if r.case.reference == dispute.data["reference"]
    )
    assert row.unread == 0


def test_statements_due_show_in_arbitration(app, api, people):
    dispute = Dispute(app, api, arbitration_consent=True, respondent_email="third@shop.example")
    dispute.must("respondent", "consent_to_arbitration")
    dispute.to_mediation()
    dispute.must(people["mediator"], "escalate", reason="stuck")
    arbitrator = people["arbitrator"]
    (row,) = page_for(app, arbitrator).rows
    assert (row.waiting_for, row.waiting_on) == ("statement", ["claimant", "respondent"])
    dispute.must("claimant", "submit_statement", body="mine")
    (row,) = page_for(app, arbitrator).rows
    assert row.waiting_on == ["respondent"]


@pytest.mark.parametrize(
    "args, field",
    [
        ({"state": "nowhere"}, "state"),
        ({"due_within_days": "soon"}, "due_within_days"),
        ({"country": "Germany"}, "country"),
        ({"sort": "random"}, "sort"),
        ({"neutral_id": "-1"}, "neutral_id"),
    ],
)
def test_a_bad_filter_names_the_parameter(args, field):
    with pytest.raises(ValidationError) as caught:
        parse_filters(args)
    assert field in caught.value.errors


def test_a_bad_filter_on_the_page_says_which(app, people, make_web):
    page = make_web()
    page.login(people["case_manager"].email)
    answer = page.get("/desk?due_within_days=soon")
    assert answer.status_code == 422
    assert 'id="due_within_days-error"' in answer.get_data(as_text=True)


def test_the_desk_lists_filings_to_screen_waiting_cases_and_loads(app, api, people, make_web):
    flagged = Dispute(
        app,
        api,
        respondent_email="fourth@shop.example",
        claim__amount={"amount": "900.00", "currency": "EUR"},
    )
    assert flagged.state == "filed"
    mediation_case(app, people["mediator"], deadline_at=clock.now() - timedelta(days=1))
    waiting = mediation_case(app, people["mediator"], mediator_id=None)
    page = make_web()
    page.login(people["case_manager"].email)
    text = html.unescape(page.get("/desk").get_data(as_text=True))
    assert flagged.data["reference"] in text
    assert waiting in text
    assert "1 open cases are past their deadline." in text or "past their deadline" in text
    assert people["mediator"].name in text

    admitted = page.post(
        f"/disputes/{flagged.id}/actions/admit", {"version": str(flagged.read()["version"])}
    )
    assert admitted.status_code == 303
    assert flagged.state == "negotiation"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(Case.state == "filed")) == 0
