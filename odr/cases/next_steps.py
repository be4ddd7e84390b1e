"""What happens next on the dispute page, in plain words: who must do what by when, and what
happens by itself if they don't.

The words come from the deadline rule of the state in the workflow: who acts, by the case's
deadline (or the performance date in its zone), what reminder goes to whom (`remind`, `rearm`,
`days`), and what the `timeout` does when nobody acted: the destination of the timeout's
transition whose guards hold now, chosen by the same guards the sweep runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
from odr.cases.stages import Facts, stage_label
from odr.workflow import Workflow, get_workflow

PARTIES = ("claimant", "respondent")


@dataclass(frozen=True)
class NextStep:
    """Who must do what by when (`text`), and what happens by itself if they don't (`then`).
    `actor` is the role that must act; `yours` when that is the reader."""

    text: str
    then: str = ""
    actor: str = ""
    yours: bool = False


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
        NextStep(
            _("The dispute is at this stage: %(stage)s.", stage=stage_label(workflow, case.state))
        )
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
