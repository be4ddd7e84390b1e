"""Random lives of a dispute: random actions by random people, and jumps of the clock.

After every step: each recorded change of state is a transition the workflow declares, an open
state has a deadline and a final one none, whatever `actions` offers the service accepts (and what
it does not offer, the service refuses), and the event chain verifies.
"""

from __future__ import annotations

import os
from datetime import timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from odr import clock
from odr.accounts.models import User
from odr.cases import firing, lodging, reading
from odr.cases.events import verify_all_chains
from odr.cases.models import Case, Event
from odr.errors import DomainError
from odr.evidence import services as evidence
from odr.extensions import db
from odr.negotiation import services as negotiation
from odr.negotiation.models import Offer
from odr.sweep import sweep
from odr.workflow import get_workflow
from tests.conftest import wipe
from tests.factories import lodging_body, make_neutral, make_user

PEOPLE = ("claimant", "respondent", "mediator", "mediator2", "arbitrator", "case_manager")
JUMPS = [timedelta(hours=h) for h in (1, 23, 49, 24 * 8, 24 * 15, 24 * 22, 24 * 31)]


def _actions() -> list[str]:
    """Every action a person can take (system ones are the sweep's)."""
    from workflows.dispute import DISPUTE

    return sorted(name for name, spec in DISPUTE["actions"].items() if not spec.get("system"))


def _params(action: str) -> dict:
    due = (clock.today() + timedelta(days=10)).isoformat()
    terms = {"amount": {"amount": "40.00", "currency": "EUR"}, "remedy": "partial_refund"}
    return {
        "reject": {"reason": "out of scope"},
        "set_governing_law": {"country": "DE", "reason": "the merchant's law was chosen"},
        "escalate": {"reason": "stuck"},
        "withdraw": {"reason": "changed my mind"},
        "reassign": {"reason": "workload"},
        "recuse": {"reason": "a conflict"},
        "fail_mediation": {"note": "no agreement"},
        "declare_performance": {"note": "paid"},
        "report_breach": {"note": "not paid"},
        "post_message": {"body": "hello"},
        "write_note": {"body": "a note"},
        "submit_statement": {"body": "my side"},
        "propose_settlement": {**terms, "terms": "forty back", "performance_due": due},
        "issue_award": {**terms, "reasons": "because", "performance_due": due},
    }.get(action, {})


class DisputeLife(RuleBasedStateMachine):
    app = None  # set by the test

    def __init__(self) -> None:
        super().__init__()
        wipe(self.app)
        self.now = clock.now()
        self.people = {
            "claimant": make_user(self.app, "consumer"),
            "respondent": make_user(self.app, "merchant", email="shop@merchant.example"),
            "mediator": make_neutral(self.app, "mediator", ["en"]),
            "mediator2": make_neutral(self.app, "mediator", ["en"]),
            "arbitrator": make_neutral(self.app, "arbitrator", ["en"]),
            "case_manager": make_user(self.app, "case_manager"),
        }
        self.case_id: int | None = None
        self.public_id = ""
        self.uploads = 0

    def _case(self) -> Case:
        db.session.expire_all()
        return db.session.get(Case, self.case_id)

    def _offered(self, who: str) -> list[str]:
        try:
            return reading.view_case(self.people[who], self.public_id).actions
        except DomainError:
            return []

    def _fire(self, who: str, action: str) -> None:
        user, case = self.people[who], self._case()
        if action == "make_offer":
            body = {"amount": {"amount": "30.00", "currency": "EUR"}, "remedy": "refund"}
            negotiation.make_offer(case, user, {**body, "terms": "thirty"})
        elif action in ("accept_offer", "reject_offer"):
            offer = db.session.scalar(
                sa.select(Offer)
                .where(Offer.case_id == case.id, Offer.status == "open", Offer.by != who)
                .order_by(Offer.id.desc())
            )
            if offer is None:
                firing.fire(case, action, user)  # nothing to answer: the service refuses
            else:
                getattr(negotiation, action)(case, user, offer.public_id)
        elif action == "add_evidence":
            self.uploads += 1
            evidence.add_evidence(case, user, "notes.txt", f"note {self.uploads}".encode())
        else:
            firing.fire(case, action, user, **_params(action))

    @initialize(consent=st.booleans(), flagged=st.booleans(), respondent_consents=st.booleans())
    def lodge(self, consent: bool, flagged: bool, respondent_consents: bool) -> None:
        overrides = {"arbitration_consent": consent}
        if flagged:
            overrides["claim__amount"] = {"amount": "900.00", "currency": "EUR"}
        with self.app.test_request_context(), clock.travel_to(self.now):
            case = lodging.lodge_dispute(
                filer=self.people["claimant"], body=lodging_body(**overrides)
            )
            self.case_id, self.public_id = case.id, case.public_id
            if respondent_consents and not flagged:
                firing.fire(case, "consent_to_arbitration", self.people["respondent"])

    @rule(who=st.sampled_from(PEOPLE), action=st.sampled_from(_actions()))
    def act(self, who: str, action: str) -> None:
        with self.app.test_request_context(), clock.travel_to(self.now):
            offered = action in self._offered(who)
            try:
                self._fire(who, action)
            except DomainError as error:
                assert not offered, f"{who} was offered {action} but got {error!r}"
            else:
                assert offered, f"{who} fired {action}, which was not offered"
            db.session.remove()

    @rule(data=st.data())
    def someone_takes_an_offered_action(self, data: st.DataObject) -> None:
        with self.app.test_request_context(), clock.travel_to(self.now):
            choices = [(who, action) for who in PEOPLE for action in self._offered(who)]
            if choices:
                who, action = data.draw(st.sampled_from(choices), label="offered")
                try:
                    self._fire(who, action)
                except DomainError as error:
                    raise AssertionError(f"{who} was offered {action} but got {error!r}") from None
            db.session.remove()

    @rule(jump=st.sampled_from(JUMPS))
    def time_passes(self, jump: timedelta) -> None:
        self.now += jump
        with self.app.app_context(), clock.travel_to(self.now):
            sweep()
            db.session.remove()

    @invariant()
    def every_change_of_state_is_declared(self) -> None:
        if self.case_id is None:
            return
        with self.app.app_context():
            workflow = get_workflow("dispute")
            for event in db.session.scalars(
                sa.select(Event).where(Event.case_id == self.case_id).order_by(Event.seq)
            ):
                data = event.data or {}
                if "from" not in data or data["from"] == data["to"]:
                    continue
                dests = {t.dest for t in workflow.transitions_for(event.kind, data["from"])}
                assert data["to"] in dests, (event.kind, data)
            db.session.remove()

    @invariant()
    def open_states_have_a_deadline_and_final_ones_none(self) -> None:
        if self.case_id is None:
            return
        with self.app.app_context():
            case = self._case()
            final = get_workflow("dispute").states[case.state].get("final", False)
            assert (case.deadline_at is None) == final, (case.state, case.deadline_at)
            db.session.remove()

    @invariant()
    def each_neutrals_caseload_counts_their_open_cases(self) -> None:
        with self.app.app_context():
            for who in ("mediator", "mediator2", "arbitrator"):
                neutral = db.session.get(User, self.people[who].id)
                role, stage = (
                    ("arbitrator", "arbitration")
                    if who == "arbitrator"
                    else ("mediator", "mediation")
                )
                held = db.session.scalar(
                    sa.select(sa.func.count()).where(
                        getattr(Case, f"{role}_id") == neutral.id, Case.state == stage
                    )
                )
                assert neutral.caseload == held, (who, neutral.caseload, held)
            db.session.remove()

    @invariant()
    def the_event_chain_verifies(self) -> None:
        with self.app.app_context():
            assert verify_all_chains() == []
            db.session.remove()


def test_random_lives_of_a_dispute_keep_the_rules(app):
    DisputeLife.app = app
    run_state_machine_as_test(
        DisputeLife,
        settings=settings(
            max_examples=int(os.environ.get("ODR_STATEFUL_EXAMPLES", "25")),
            stateful_step_count=30,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
