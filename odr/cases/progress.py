"""Where a dispute stands and what happens next, in plain words, for the dispute page.

The stages come from the case's state and what the page has already loaded (the offers, the latest
proposal, the award, the newest referral, the page of the timeline); no query of their own. The
next steps come from the deadline rule of the state in the workflow: who acts, by the case's
deadline (or the performance date in its zone), what reminder goes to whom (`remind`, `rearm`,
`days`), and what the `timeout` does when nobody acted: the destination of the timeout's
transition whose guards hold now, chosen by the same guards the sweep runs.

Only the words are written here, per state and per timeout; `undescribed()` names every state,
timeout, reminded role and neutral of a workflow that has none, and a test keeps that list empty,
so a state added to the workflow without words fails the suite rather than the page (the page
falls back to the state's label).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from babel.lists import format_list
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from odr import clock, i18n
from odr.cases.guards import GUARDS, GuardContext
from odr.cases.labels import OUTCOME_LABELS, REMEDY_LABELS
from odr.cases.performance import deadline_text, in_viewers_zone
from odr.workflow import Workflow, get_workflow

PARTIES = ("claimant", "respondent")


@dataclass(frozen=True)
class Stage:
    """One step of the bar. `status`: done, current, skipped, upcoming, or ended (the step where
    a closed dispute stopped, named by its outcome)."""

    key: str
    label: str
    status: str
    note: str = ""

    @property
    def is_current(self) -> bool:
        return self.status in ("current", "ended")


@dataclass(frozen=True)
class NextStep:
    """Who must do what by when (`text`), and what happens by itself if they don't (`then`).
    `actor` is the role that must act; `yours` when that is the reader."""

    text: str
    then: str = ""
    actor: str = ""
    yours: bool = False


@dataclass(frozen=True)
class Progress:
    stages: list[Stage]
    next_steps: list[NextStep]
    closed: bool


@dataclass(frozen=True)
class Facts:
    """What the dispute page has loaded that the progress reads."""

    offers: Sequence[Any] = ()
    proposal: Any = None
    award: Any = None
    statements: Sequence[Any] = ()
    referral: Any = None
    agency: Any = None
    users: Mapping[int, Any] = field(default_factory=dict)
    events: Sequence[Any] = ()  # the page of the timeline shown, newest first

    @classmethod
    def of(cls, view: Any, events: Sequence[Any] = ()) -> Facts:
        referral, agency = view.referral or (None, None)
        return cls(
            offers=view.offers or (),
            proposal=view.proposal,
            award=view.award,
            statements=view.statements or (),
            referral=referral,
            agency=agency,
            users=view.users,
            events=events,
        )


def for_page(view: Any, events: Sequence[Any] = ()) -> Progress:
    """The bar and the next steps of the dispute page, for its reader."""
    case, facts = view.case, Facts.of(view, events)
    workflow = get_workflow(case.workflow, case.workflow_version)
    return Progress(
        stages(case, facts, workflow),
        next_steps(case, view.role, facts, workflow),
        workflow.is_final(case.state),
    )


# ---- the bar -----------------------------------------------------------------------------------

MAIN_ROUTE = ("lodged", "negotiation", "mediation", "arbitration", "outcome", "performed")
PARTNER_ROUTE = ("lodged", "negotiation", "referred", "with_partner", "partner_outcome")
# Where each open state stands on the bar.
PLACES = {
    "filed": "lodged",
    "negotiation": "negotiation",
    "mediation": "mediation",
    "arbitration": "arbitration",
    "settled": "outcome",
    "awarded": "outcome",
    "referred": "referred",
    "with_partner": "with_partner",
}
STAGE_LABELS = {
    "lodged": _l("Lodged"),
    "outcome": _l("Settlement or award"),
    "performed": _l("Performed"),
    "partner_outcome": _l("Outcome at the partner agency"),
}
# Closed states, by the stage where the dispute stopped: the stage itself (resolved) or one after
# it, named by the outcome.
FINAL_PLACES = {
    "resolved": "performed",
    "non_compliant": "outcome",
    "unresolved": "mediation",
    "rejected": "lodged",
    "withdrawn": None,  # where it was withdrawn: see _withdrawn_at
}


def stages(case: Any, facts: Facts, workflow: Workflow | None = None) -> list[Stage]:
    """The bar: lodged → negotiation → mediation → arbitration → settled/awarded → performed,
    or the partner agency's route; passed stages done, skipped ones skipped, a closed dispute's
    bar ending where it stopped with the outcome named."""
    workflow = workflow or get_workflow(case.workflow, case.workflow_version)
    if _on_partner_route(case, facts):
        return _partner_stages(case, facts, workflow)
    return _main_stages(case, facts, workflow)


def _label(workflow: Workflow, key: str) -> str:
    if key in STAGE_LABELS:
        return str(STAGE_LABELS[key])
    return str(workflow.states[key]["label"]) if key in workflow.states else key


def _state_changes(facts: Facts) -> list[tuple[str, str]]:
    """The (from, to) state changes on the page of the timeline, newest first."""
    return [
        (event.data["from"], event.data["to"])
        for event in facts.events
        if isinstance(event.data, dict)
        and event.data.get("from")
        and event.data.get("to")
        and event.data["from"] != event.data["to"]
    ]


def _left(facts: Facts, to: str) -> str | None:
    """The state the newest loaded change into `to` came from (None: not on this page)."""
    return next((before for before, after in _state_changes(facts) if after == to), None)


def _settled_in_negotiation(facts: Facts) -> bool:
    """An accepted offer: the case went from negotiation straight to settled, past mediation."""
    return any(offer.status == "accepted" for offer in facts.offers)


def _negotiated(case: Any, facts: Facts) -> bool:
    return bool(
        case.respondent_answered_at
        or facts.offers
        or any("negotiation" in change for change in _state_changes(facts))
    )


def _on_partner_route(case: Any, facts: Facts) -> bool:
    if case.state in ("referred", "with_partner"):
        return True
    referral = facts.referral
    # a referral declined or expired came back here: the main route goes on
    return referral is not None and referral.status in ("accepted", "closed", "withdrawn")


def _main_stages(case: Any, facts: Facts, workflow: Workflow) -> list[Stage]:
    state, final = case.state, workflow.is_final(case.state)
    if final:
        stop = FINAL_PLACES.get(state) or _withdrawn_at(case, facts)
    elif state not in PLACES:  # a state with no place yet: where it is, said truthfully
        return [Stage("lodged", _label(workflow, "lodged"), "done"), _current(workflow, state)]
    else:
        stop = PLACES[state]
    stop_at = MAIN_ROUTE.index(stop)
    awarded = facts.award is not None or state == "awarded"
    skipped = {"mediation"} if _settled_in_negotiation(facts) else set()
    if not awarded and stop_at > MAIN_ROUTE.index("arbitration"):
        skipped.add("arbitration")
    bar = []
    for at, key in enumerate(MAIN_ROUTE):
        label = _label(workflow, key)
        if key == "outcome" and at <= stop_at:
            label = _label(workflow, "awarded" if awarded else "settled")
        if at > stop_at:
            if not final:
                bar.append(Stage(key, label, "upcoming"))
        elif at == stop_at and state == "resolved":
            bar.append(Stage(key, label, "ended", _label(workflow, "resolved")))
        elif at < stop_at or final:
            bar.append(Stage(key, label, "skipped" if key in skipped else "done"))
        else:
            breached = state == "arbitration" and case.breach_reported_at is not None
            note = _("after a reported breach of the settlement") if breached else ""
            bar.append(Stage(key, label, "current", note))
    if final and state != "resolved":
        bar.append(Stage(state, _label(workflow, state), "ended"))
    return bar


def _current(workflow: Workflow, state: str) -> Stage:
    return Stage(state, _label(workflow, state), "current")


def _withdrawn_at(case: Any, facts: Facts) -> str:
    """The stage a withdrawn dispute stopped in: the change on the page of the timeline, else
    the furthest stage the case's records show."""
    left = _left(facts, "withdrawn")
    if left is not None:
        return PLACES.get(left, "lodged")
    if case.arbitrator_id is not None or facts.award is not None:
        return "arbitration"
    if case.mediator_id is not None or facts.proposal is not None:
        return "mediation"
    return "negotiation" if _negotiated(case, facts) else "lodged"


def _partner_stages(case: Any, facts: Facts, workflow: Workflow) -> list[Stage]:
    referral, state = facts.referral, case.state
    final = workflow.is_final(state)
    refer_from = _left(facts, "referred")
    negotiated = refer_from == "negotiation" or (refer_from is None and _negotiated(case, facts))
    keys = [key for key in PARTNER_ROUTE if key != "negotiation" or negotiated]
    if final:
        accepted = referral is not None and (
            referral.status in ("accepted", "closed") or bool(referral.partner_reference)
        )
        stop = "with_partner" if accepted else "referred"
    else:
        stop = PLACES[state]
    stop_at = keys.index(stop)
    bar = []
    for at, key in enumerate(keys):
        if at < stop_at or (at == stop_at and final):
            bar.append(Stage(key, _label(workflow, key), "done"))
        elif at == stop_at:
            bar.append(Stage(key, _label(workflow, key), "current"))
        elif not final:
            bar.append(Stage(key, _label(workflow, key), "upcoming"))
    if final:
        outcome = referral.outcome if referral is not None and referral.status == "closed" else None
        label = str(OUTCOME_LABELS[outcome]) if outcome in OUTCOME_LABELS else None
        bar.append(Stage(state, label or _label(workflow, state), "ended"))
    return bar


# ---- what happens next -------------------------------------------------------------------------

# What the timeout does by itself, by the timeout action and where its transition leads.
OTHERWISE = {
    ("escalate", "mediation"): _l("Otherwise, mediation starts by itself."),
    ("fail_mediation", "unresolved"): _l(
        "Otherwise, mediation closes as failed by itself and the dispute ends without a settlement."
    ),
    ("fail_mediation", "arbitration"): _l(
        "Otherwise, mediation closes as failed by itself and, as both sides agreed to it, "
        "arbitration starts."
    ),
    ("performance_due_passed", "non_compliant"): _l(
        "If by then the merchant has not declared it done and the consumer has not confirmed "
        "it, the dispute is recorded as not complied with."
    ),
    ("performance_due_passed", "resolved"): _l(
        "If the consumer does neither by then, the dispute is recorded as resolved."
    ),
    ("expire_referral", "negotiation"): _l(
        "Otherwise, the dispute comes back here, to negotiation with the merchant."
    ),
}
# Who a reminder goes to, as a list names them.
REMINDED = {
    "case_manager": _l("the case managers"),
    "mediator": _l("the mediator"),
    "arbitrator": _l("the arbitrator"),
    "partner": _l("the partner agency"),
    "claimant": _l("the consumer"),
    "respondent": _l("the merchant"),
}
# While a stage waits for its neutral.
WAITING = {
    "mediator": _l(
        "The dispute waits for a free mediator, who is assigned as soon as one is free."
    ),
    "arbitrator": _l(
        "The dispute waits for a free arbitrator, who is assigned as soon as one is free."
    ),
}


def next_steps(
    case: Any, role: str, facts: Facts, workflow: Workflow | None = None
) -> list[NextStep]:
    """What happens next, for a reader in `role`: who must do what by when, and what happens by
    itself if they don't; for a closed dispute, how it ended."""
    workflow = workflow or get_workflow(case.workflow, case.workflow_version)
    reading = Reading(case, role, facts, workflow)
    describe = (CLOSED if workflow.is_final(case.state) else NEXT).get(case.state)
    steps = describe(reading) if describe and reading.dated() else []
    return steps or [
        NextStep(_("The dispute is at this stage: %(stage)s.", stage=_label(workflow, case.state)))
    ]


@dataclass(frozen=True)
class Reading:
    """One reader's view of one case, with the workflow's rule for its state."""

    case: Any
    role: str
    facts: Facts
    workflow: Workflow

    @property
    def state(self) -> dict[str, Any]:
        return self.workflow.states[self.case.state]

    @property
    def rule(self) -> dict[str, Any]:
        """The deadline rule in force: while the stage waits for its neutral, the waiting one."""
        deadline = self.state.get("deadline") or {}
        if not self.assigned:
            return deadline.get("waiting") or {}
        return deadline

    @property
    def neutral_role(self) -> str | None:
        return self.state.get("neutral")

    @property
    def assigned(self) -> bool:
        """Whether the stage's neutral is assigned (a stage without one counts as assigned)."""
        role = self.neutral_role
        return role is None or getattr(self.case, f"{role}_id") is not None

    def name(self, role: str) -> str:
        if role == "claimant":
            return self.case.claimant_name
        if role == "respondent":
            return self.case.respondent_name
        if role == "partner" and self.facts.agency is not None:
            return self.facts.agency.name
        neutral_id = getattr(self.case, f"{role}_id", None)
        user = self.facts.users.get(neutral_id) if neutral_id else None
        return user.name if user is not None else ""

    def dated(self) -> bool:
        """Whether the case holds the date its state's rule gives (a row made without the
        services may not): without it, the page says only the stage."""
        deadline = self.state.get("deadline")
        if not deadline:
            return True
        if deadline.get("performance_due"):
            return self.case.performance_due is not None
        return self.case.deadline_at is not None

    def when(self) -> str:
        return i18n.format_time(self.case.deadline_at)

    def step(self, actor: str, mine: str, theirs: str, then: str = "") -> NextStep:
        """The step of `actor`: worded `mine` for that reader, `theirs` for every other."""
        yours = self.role == actor
        return NextStep(mine if yours else theirs, then, actor, yours)

    def otherwise(self) -> str:
        """What the state's timeout does now, or the reminder its deadline sends."""
        rule = self.rule
        timeout = rule.get("timeout")
        if timeout:
            dest = timeout_destination(self.workflow, self.case, timeout)
            sentence = OTHERWISE.get((timeout, dest))
            return str(sentence) if sentence else ""
        if rule.get("remind") and self.case.deadline_at is not None:
            return reminder(rule, self.when())
        return ""


def timeout_destination(workflow: Workflow, case: Any, action: str) -> str | None:
    """Where the `system` actor's `action` would take the case now: the first of its transitions
    from the case's state whose guards hold, as the sweep would fire it."""
    ctx = GuardContext(case=case, actor=None, role="system")
    for transition in workflow.transitions_for(action, case.state):
        if "system" in transition.roles and all(
            GUARDS[name](ctx) for name in transition.conditions
        ):
            return transition.dest
    return None


def reminder(rule: dict[str, Any], when: str) -> str:
    who = format_list(
        [str(REMINDED.get(role, role)) for role in rule["remind"]],
        locale=str(get_locale() or "en"),
    )
    if rule.get("rearm") and rule["days"] == 1:
        return _(
            "If the dispute is still at this stage on %(when)s, a reminder goes to %(who)s, "
            "and again every day after that.",
            when=when,
            who=who,
        )
    if rule.get("rearm"):  # Chinese has one form for any number: no ngettext with a singular
        return _(
            "If the dispute is still at this stage on %(when)s, a reminder goes to %(who)s, "
            "and again every %(days)d days after that.",
            when=when,
            who=who,
            days=rule["days"],
        )
    return _(
        "If the dispute is still at this stage on %(when)s, a reminder goes to %(who)s.",
        when=when,
        who=who,
    )


def _terms(reading: Reading) -> str:
    """What the respondent must do: the remedy and the amount of the award or the agreed terms."""
    facts = reading.facts
    terms = facts.award if reading.case.state == "awarded" else None
    if terms is None:
        accepted = [offer for offer in facts.offers if offer.status == "accepted"]
        if accepted:
            terms = accepted[-1]
        elif facts.proposal is not None and facts.proposal.status == "accepted":
            terms = facts.proposal
    if terms is None:
        return ""
    remedy = str(REMEDY_LABELS.get(terms.remedy, terms.remedy))
    if not terms.amount_minor:
        return remedy
    return _(
        "%(remedy)s, %(amount)s",
        remedy=remedy,
        amount=i18n.format_money(terms.amount_minor, terms.currency),
    )


def _performance_due(case: Any) -> str:
    when = deadline_text(case.performance_due, case.performance_zone)
    here = in_viewers_zone(case.performance_due, case.performance_zone)
    return _("%(when)s (your time: %(here)s)", when=when, here=here) if here else when


def _filed(r: Reading) -> list[NextStep]:
    days = r.state["deadline"]["days"]
    return [
        r.step(
            "case_manager",
            _(
                "Screen this dispute: admit it to negotiation with the merchant, refer it to a "
                "partner agency or reject it."
            ),
            ngettext(
                "A case manager checks the dispute, usually within a day, and admits it to "
                "negotiation with the merchant, refers it to a partner agency or rejects it.",
                "A case manager checks the dispute, usually within %(num)d days, and admits it "
                "to negotiation with the merchant, refers it to a partner agency or rejects it.",
                days,
            ),
            r.otherwise(),
        )
    ]


def _negotiation(r: Reading) -> list[NextStep]:
    case, when = r.case, r.when()
    answered = not r.rule.get("answered_days") or case.respondent_answered_at is not None
    if not answered:
        steps = [
            r.step(
                "respondent",
                _("You must answer by %(when)s: make an offer or write a message.", when=when),
                _(
                    "%(merchant)s must answer by %(when)s, with an offer or a message.",
                    merchant=case.respondent_name,
                    when=when,
                ),
                r.otherwise(),
            )
        ]
    elif r.role in PARTIES:
        other = r.name("respondent" if r.role == "claimant" else "claimant")
        steps = [
            NextStep(
                _(
                    "You and %(other)s can settle until %(when)s by making and accepting offers.",
                    other=other,
                    when=when,
                ),
                r.otherwise(),
                r.role,
                True,
            )
        ]
    else:
        steps = [
            NextStep(
                _(
                    "%(consumer)s and %(merchant)s can settle until %(when)s by making and "
                    "accepting offers.",
                    consumer=case.claimant_name,
                    merchant=case.respondent_name,
                    when=when,
                ),
                r.otherwise(),
                "claimant",
            )
        ]
    if r.role in PARTIES:
        waiting = [o for o in r.facts.offers if o.status == "open" and o.by != r.role]
        if waiting:
            steps.append(
                NextStep(
                    _(
                        "%(party)s has made you an offer: accept or reject it under “Offers”.",
                        party=r.name(waiting[-1].by),
                    ),
                    actor=r.role,
                    yours=True,
                )
            )
    return steps


def _waiting_for_neutral(r: Reading) -> list[NextStep]:
    role, deadline = r.neutral_role, r.state["deadline"]
    steps = [NextStep(str(WAITING[role]), r.otherwise())]
    if role == "mediator" and deadline.get("timeout"):
        steps.append(
            NextStep(
                ngettext(
                    "Once assigned, the mediator has %(num)d day to help both sides settle.",
                    "Once assigned, the mediator has %(num)d days to help both sides settle.",
                    deadline["days"],
                )
            )
        )
    return steps


def _mediation(r: Reading) -> list[NextStep]:
    if not r.assigned:
        return _waiting_for_neutral(r)
    when = r.when()
    steps = [
        r.step(
            "mediator",
            _(
                "You have until %(when)s to help both sides settle: propose a settlement for "
                "both to accept, or close mediation as failed.",
                when=when,
            ),
            _(
                "The mediator, %(name)s, helps both sides settle until %(when)s.",
                name=r.name("mediator"),
                when=when,
            ),
            r.otherwise(),
        )
    ]
    proposal = r.facts.proposal
    if (
        r.role in PARTIES
        and proposal is not None
        and proposal.status == "open"
        and getattr(proposal, f"{r.role}_answer") is None
    ):
        steps.append(
            NextStep(
                _("The mediator has proposed a settlement: accept or decline it."),
                actor=r.role,
                yours=True,
            )
        )
    return steps


def _arbitration(r: Reading) -> list[NextStep]:
    if not r.assigned:
        return _waiting_for_neutral(r)
    steps = [
        r.step(
            "arbitrator",
            _("You decide the dispute: issue the award once both sides have had their say."),
            _(
                "The arbitrator, %(name)s, decides the dispute and issues an award that binds "
                "both sides.",
                name=r.name("arbitrator"),
            ),
            r.otherwise(),
        )
    ]
    days, assigned = r.state.get("statement_days"), r.case.neutral_assigned_at
    if days and assigned is not None:
        until = assigned + timedelta(days=days)
        if until > clock.now():
            filed = {statement.party for statement in r.facts.statements}
            when = i18n.format_time(until)
            if r.role in PARTIES and r.role not in filed:
                steps.append(
                    NextStep(
                        _("You can file your statement until %(when)s.", when=when),
                        actor=r.role,
                        yours=True,
                    )
                )
            elif r.role not in PARTIES and filed != set(PARTIES):
                steps.append(
                    NextStep(_("Each side can file a statement until %(when)s.", when=when))
                )
    return steps


def _performance(r: Reading) -> list[NextStep]:
    case, terms, due = r.case, _terms(r), _performance_due(r.case)
    merchant = case.respondent_name
    if case.performance_declared_at is None:
        if r.role == "respondent":
            text = _(
                "You must perform by %(when)s: %(terms)s. Then declare here that you have done it.",
                when=due,
                terms=terms,
            )
        else:
            text = _(
                "%(merchant)s must perform by %(when)s: %(terms)s.",
                merchant=merchant,
                when=due,
                terms=terms,
            )
        steps = [NextStep(text, r.otherwise(), "respondent", r.role == "respondent")]
        if r.role == "claimant":
            steps.append(
                NextStep(
                    _(
                        "When it is done, confirm it here. If it is not done, you can report a "
                        "breach."
                    ),
                    actor="claimant",
                    yours=True,
                )
            )
        return steps
    declared = i18n.format_time(case.performance_declared_at)
    return [
        r.step(
            "claimant",
            _(
                "%(merchant)s declared on %(date)s that it has performed (%(terms)s). Confirm it "
                "here if you have received it, or report a breach, by %(when)s.",
                merchant=merchant,
                date=declared,
                terms=terms,
                when=due,
            ),
            _(
                "%(merchant)s declared on %(date)s that it has performed. The consumer can "
                "confirm it or report a breach until %(when)s.",
                merchant=merchant,
                date=declared,
                when=due,
            ),
            r.otherwise(),
        )
    ]


def _referred(r: Reading) -> list[NextStep]:
    when = r.when()
    return [
        r.step(
            "partner",
            _("You must accept or decline this dispute by %(when)s.", when=when),
            _(
                "%(agency)s, the partner agency, has until %(when)s to accept the dispute.",
                agency=r.name("partner") or _("The partner agency"),
                when=when,
            ),
            r.otherwise(),
        )
    ]


def _with_partner(r: Reading) -> list[NextStep]:
    return [
        r.step(
            "partner",
            _("Handle the dispute under your own rules and report progress and the outcome here."),
            _(
                "%(agency)s, the partner agency, handles the dispute under its own rules and "
                "reports the outcome here.",
                agency=r.name("partner") or _("The partner agency"),
            ),
            r.otherwise(),
        )
    ]


def _closed(text: str) -> list[NextStep]:
    return [NextStep(text)]


def _resolved(r: Reading) -> list[NextStep]:
    referral = r.facts.referral
    if referral is not None and referral.status == "closed" and referral.outcome in OUTCOME_LABELS:
        return _closed(
            _(
                "This dispute is closed: the partner agency reported its outcome (%(outcome)s).",
                outcome=str(OUTCOME_LABELS[referral.outcome]),
            )
        )
    if r.facts.award is not None:
        return _closed(_("This dispute is closed: the award was carried out."))
    return _closed(_("This dispute is closed: the settlement was carried out."))


def _unresolved(r: Reading) -> list[NextStep]:
    referral = r.facts.referral
    if referral is not None and referral.status == "closed":
        return _closed(
            _("This dispute is closed without a settlement, as the partner agency reported.")
        )
    return _closed(
        _(
            "This dispute is closed without a settlement: mediation failed and the two sides did "
            "not both agree to arbitration."
        )
    )


def _non_compliant(r: Reading) -> list[NextStep]:
    if r.case.breach_reported_at is not None:
        return _closed(
            _(
                "This dispute is closed as not complied with: the consumer reported that the "
                "merchant did not perform."
            )
        )
    return _closed(
        _(
            "This dispute is closed as not complied with: the merchant did not perform by the "
            "deadline."
        )
    )


def _withdrawn(r: Reading) -> list[NextStep]:
    referral = r.facts.referral
    if referral is not None and referral.status == "closed" and referral.outcome == "withdrawn":
        return _closed(_("This dispute is closed: it was withdrawn at the partner agency."))
    if r.role == "claimant":
        return _closed(_("This dispute is closed: you withdrew it."))
    return _closed(_("This dispute is closed: the consumer withdrew it."))


def _rejected(r: Reading) -> list[NextStep]:
    return _closed(_("This dispute is closed: a case manager did not admit it."))


# The words for each state: open states say what happens next, closed ones how it ended.
NEXT: dict[str, Callable[[Reading], list[NextStep]]] = {
    "filed": _filed,
    "negotiation": _negotiation,
    "mediation": _mediation,
    "arbitration": _arbitration,
    "settled": _performance,
    "awarded": _performance,
    "referred": _referred,
    "with_partner": _with_partner,
}
CLOSED: dict[str, Callable[[Reading], list[NextStep]]] = {
    "resolved": _resolved,
    "unresolved": _unresolved,
    "non_compliant": _non_compliant,
    "withdrawn": _withdrawn,
    "rejected": _rejected,
}


def undescribed(definition: dict[str, Any]) -> list[str]:
    """What a workflow definition has that this module has no words or place for; empty when
    every state, timeout, reminder and waiting neutral can be told on the page."""
    missing = []
    transitions = definition.get("transitions", [])
    for name, state in definition.get("states", {}).items():
        if state.get("final"):
            if name not in CLOSED:
                missing.append(f"closed state {name!r} has no words in CLOSED")
            if name not in FINAL_PLACES:
                missing.append(f"closed state {name!r} has no place on the bar")
            continue
        if name not in NEXT:
            missing.append(f"state {name!r} has no words in NEXT")
        if name not in PLACES:
            missing.append(f"state {name!r} has no place on the bar")
        deadline = state.get("deadline") or {}
        for rule in (deadline, deadline.get("waiting") or {}):
            for role in rule.get("remind", []):
                if role not in REMINDED:
                    missing.append(f"state {name!r}: no words for reminding {role!r}")
        if "waiting" in deadline and state.get("neutral") not in WAITING:
            missing.append(f"state {name!r}: no words for waiting for its {state.get('neutral')}")
        timeout = deadline.get("timeout")
        for entry in transitions:
            sources = [entry["source"]] if isinstance(entry["source"], str) else entry["source"]
            fired = entry["trigger"] == timeout and name in sources and "system" in entry["roles"]
            if fired and (timeout, entry["dest"]) not in OTHERWISE:
                missing.append(
                    f"state {name!r}: no words for its timeout {timeout!r} "
                    f"leading to {entry['dest']!r}"
                )
    return missing
