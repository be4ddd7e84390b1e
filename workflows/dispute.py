"""The dispute lifecycle (DESIGN.md, "The lifecycle").

Laid out like the keyword arguments of a `transitions.Machine`, with our own keys beside them:
per transition the case roles that may fire it, per action its label and parameters, per state its
label and deadline. `odr.workflow` strips our keys before building the machine and resolves guard
names through the registry in `odr.cases.guards`.

Deadlines are calendar days from entering the state, in UTC, except a performance date: it ends
with that day where the respondent is, and `days` is its default (`odr.cases.performance`).
`timeout` names the action the `system` actor fires when the deadline passes; `remind` names who
is reminded instead, and `rearm` sets the next deadline the same distance ahead of the reminder
(so a sweep that runs late sends one reminder, not one for every period it missed).
"""

from flask_babel import lazy_gettext as _l

PARTIES = ["claimant", "respondent"]
OPEN_BEFORE_OUTCOME = [
    "filed",
    "negotiation",
    "mediation",
    "arbitration",
    "referred",
    "with_partner",
]

DISPUTE = {
    "name": "dispute",
    "version": 1,
    "initial_states": ["filed", "negotiation", "referred"],
    "states": {
        "filed": {
            "label": _l("Filed, awaiting screening"),
            "deadline": {"days": 3, "remind": ["case_manager"], "rearm": True},
        },
        "negotiation": {
            "label": _l("Negotiation"),
            "deadline": {"days": 7, "answered_days": 21, "timeout": "escalate"},
        },
        "mediation": {
            "label": _l("Mediation"),
            # From the mediator's assignment; while none is free, case managers are reminded.
            "neutral": "mediator",
            "deadline": {
                "days": 30,
                "timeout": "fail_mediation",
                "waiting": {"days": 1, "remind": ["case_manager"], "rearm": True},
            },
        },
        "arbitration": {
            "label": _l("Arbitration"),
            "neutral": "arbitrator",
            "statement_days": 14,
            "deadline": {
                "days": 30,
                "remind": ["arbitrator", "case_manager"],
                "rearm": True,
                "waiting": {"days": 1, "remind": ["case_manager"], "rearm": True},
            },
        },
        "settled": {
            "label": _l("Settled"),
            "deadline": {"performance_due": True, "days": 14, "timeout": "performance_due_passed"},
        },
        "awarded": {
            "label": _l("Awarded"),
            "deadline": {"performance_due": True, "days": 30, "timeout": "performance_due_passed"},
        },
        "referred": {
            "label": _l("Referred to a partner agency"),
            "deadline": {"days": 5, "timeout": "expire_referral"},
        },
        "with_partner": {
            "label": _l("With the partner agency"),
            "deadline": {"days": 90, "remind": ["partner", "case_manager"], "rearm": True},
        },
        "resolved": {"label": _l("Resolved"), "final": True},
        "unresolved": {"label": _l("Unresolved"), "final": True},
        "non_compliant": {"label": _l("Not complied with"), "final": True},
        "withdrawn": {"label": _l("Withdrawn"), "final": True},
        "rejected": {"label": _l("Rejected"), "final": True},
    },
    "actions": {
        "admit": {"label": _l("Admit")},
        "reject": {"label": _l("Reject"), "params": ["reason"]},
        "refer": {"label": _l("Refer to a partner agency"), "params": ["partner_id"]},
        "reroute": {
            "label": _l("Send to another partner agency"),
            "params": ["partner_id", "reason"],
        },
        "set_governing_law": {
            "label": _l("Set the governing law"),
            "params": ["country", "reason"],
        },
        "make_offer": {"label": _l("Make an offer")},
        "post_message": {"label": _l("Send a message"), "params": ["body", "channel", "party"]},
        "write_note": {"label": _l("Write a private note"), "params": ["body"]},
        "add_evidence": {"label": _l("Add evidence"), "params": ["file"]},
        "reassign": {
            "label": _l("Reassign the mediator or arbitrator"),
            "params": ["reason", "neutral_id"],
        },
        "recuse": {"label": _l("Recuse myself"), "params": ["reason"]},
        "submit_statement": {"label": _l("File my statement"), "params": ["body"]},
        "accept_offer": {"label": _l("Accept offer")},
        "reject_offer": {"label": _l("Reject offer")},
        "escalate": {"label": _l("Escalate"), "params": ["reason"]},
        "withdraw": {"label": _l("Withdraw the dispute"), "params": ["reason"]},
        "propose_settlement": {
            "label": _l("Propose a settlement"),
            "params": ["amount", "remedy", "terms", "performance_due"],
        },
        "accept_proposal": {"label": _l("Accept the proposal")},
        "decline_proposal": {"label": _l("Decline the proposal")},
        "consent_to_arbitration": {"label": _l("Consent to arbitration")},
        "fail_mediation": {"label": _l("Close mediation as failed"), "params": ["note"]},
        "issue_award": {
            "label": _l("Issue the award"),
            "params": ["amount", "remedy", "reasons", "performance_due"],
        },
        "confirm_performance": {"label": _l("Confirm performance")},
        "declare_performance": {"label": _l("Declare performance"), "params": ["note"]},
        "report_breach": {"label": _l("Report a breach"), "params": ["note"]},
        "performance_due_passed": {"label": _l("Performance deadline passed"), "system": True},
        "accept_referral": {"label": _l("Accept the referral"), "params": ["partner_reference"]},
        "decline_referral": {"label": _l("Decline the referral"), "params": ["reason"]},
        "expire_referral": {"label": _l("Referral expired"), "system": True},
        "report_progress": {
            "label": _l("Report progress"),
            "params": ["status", "note"],
        },
        "report_outcome": {
            "label": _l("Report the outcome"),
            "params": ["outcome", "summary", "amount"],
            "notice": "partner_outcome",
        },
    },
    "transitions": [
        # screening
        {"trigger": "admit", "source": "filed", "dest": "negotiation", "roles": ["case_manager"]},
        {"trigger": "reject", "source": "filed", "dest": "rejected", "roles": ["case_manager"]},
        {
            "trigger": "refer",
            "source": ["filed", "negotiation"],
            "dest": "referred",
            "roles": ["case_manager"],
            "conditions": ["partner_available"],
        },
        {
            "trigger": "reroute",
            "source": "referred",
            "dest": None,
            "roles": ["case_manager"],
            "conditions": ["other_partner_available"],
        },
        {
            "trigger": "set_governing_law",
            "source": ["filed", "negotiation"],
            "dest": None,
            "roles": ["case_manager"],
        },
        # negotiation
        {"trigger": "make_offer", "source": "negotiation", "dest": None, "roles": PARTIES},
        {
            "trigger": "accept_offer",
            "source": "negotiation",
            "dest": "settled",
            "roles": PARTIES,
            "conditions": ["open_offer_from_other_party"],
        },
        {
            "trigger": "reject_offer",
            "source": "negotiation",
            "dest": None,
            "roles": PARTIES,
            "conditions": ["open_offer_from_other_party"],
        },
        {
            "trigger": "escalate",
            "source": "negotiation",
            "dest": "mediation",
            "roles": [*PARTIES, "system"],
        },
        # mediation
        {
            "trigger": "escalate",
            "source": "mediation",
            "dest": "arbitration",
            "roles": [*PARTIES, "mediator"],
            "conditions": ["both_consented"],
        },
        {
            "trigger": "propose_settlement",
            "source": "mediation",
            "dest": None,
            "roles": ["mediator"],
            "conditions": ["mediator_assigned"],
        },
        {
            "trigger": "accept_proposal",
            "source": "mediation",
            "dest": "settled",
            "roles": PARTIES,
            "conditions": ["proposal_awaits_party", "other_party_accepted_proposal"],
        },
        {
            "trigger": "accept_proposal",
            "source": "mediation",
            "dest": None,
            "roles": PARTIES,
            "conditions": ["proposal_awaits_party"],
        },
        {
            "trigger": "decline_proposal",
            "source": "mediation",
            "dest": None,
            "roles": PARTIES,
            "conditions": ["proposal_awaits_party"],
        },
        {
            "trigger": "consent_to_arbitration",
            "source": ["filed", "negotiation", "mediation"],
            "dest": None,
            "roles": PARTIES,
            "conditions": ["party_not_yet_consented"],
        },
        {
            "trigger": "fail_mediation",
            "source": "mediation",
            "dest": "arbitration",
            "roles": ["mediator", "system"],
            "conditions": ["both_consented"],
        },
        {
            "trigger": "fail_mediation",
            "source": "mediation",
            "dest": "unresolved",
            "roles": ["mediator", "system"],
        },
        # arbitration
        {
            "trigger": "issue_award",
            "source": "arbitration",
            "dest": "awarded",
            "roles": ["arbitrator"],
            "conditions": ["arbitrator_assigned"],
        },
        # compliance
        {
            "trigger": "confirm_performance",
            "source": ["settled", "awarded"],
            "dest": "resolved",
            "roles": ["claimant"],
        },
        {
            "trigger": "declare_performance",
            "source": ["settled", "awarded"],
            "dest": None,
            "roles": ["respondent"],
            "conditions": ["performance_not_yet_declared"],
        },
        {
            "trigger": "report_breach",
            "source": "settled",
            "dest": "arbitration",
            "roles": ["claimant"],
            "conditions": ["both_consented"],
        },
        {
            "trigger": "report_breach",
            "source": ["settled", "awarded"],
            "dest": "non_compliant",
            "roles": ["claimant"],
        },
        {
            "trigger": "performance_due_passed",
            "source": ["settled", "awarded"],
            "dest": "resolved",
            "roles": ["system"],
            "conditions": ["performance_declared"],
        },
        {
            "trigger": "performance_due_passed",
            "source": ["settled", "awarded"],
            "dest": "non_compliant",
            "roles": ["system"],
        },
        # referral
        {
            "trigger": "accept_referral",
            "source": "referred",
            "dest": "with_partner",
            "roles": ["partner"],
        },
        {
            "trigger": "decline_referral",
            "source": "referred",
            "dest": "negotiation",
            "roles": ["partner"],
        },
        {
            "trigger": "expire_referral",
            "source": "referred",
            "dest": "negotiation",
            "roles": ["system"],
        },
        {
            "trigger": "report_progress",
            "source": "with_partner",
            "dest": None,
            "roles": ["partner"],
        },
        {
            "trigger": "report_outcome",
            "source": "with_partner",
            "dest": "resolved",
            "roles": ["partner"],
            "conditions": ["outcome_resolved"],
        },
        {
            "trigger": "report_outcome",
            "source": "with_partner",
            "dest": "withdrawn",
            "roles": ["partner"],
            "conditions": ["outcome_withdrawn"],
        },
        {
            "trigger": "report_outcome",
            "source": "with_partner",
            "dest": "unresolved",
            "roles": ["partner"],
        },
        # talking: messages, notes, statements
        {
            "trigger": "post_message",
            "source": ["negotiation", "settled", "awarded"],
            "dest": None,
            "roles": PARTIES,
            "conditions": ["channel_open"],
        },
        {
            "trigger": "post_message",
            "source": "mediation",
            "dest": None,
            "roles": [*PARTIES, "mediator"],
            "conditions": ["channel_open"],
        },
        {
            "trigger": "post_message",
            "source": "arbitration",
            "dest": None,
            "roles": [*PARTIES, "arbitrator"],
            "conditions": ["channel_open"],
        },
        {
            "trigger": "write_note",
            "source": "mediation",
            "dest": None,
            "roles": ["mediator"],
            "conditions": ["mediator_assigned"],
        },
        # evidence: the parties, wherever they act (a partner agency hears of it by webhook); the
        # claimant also while screening
        {
            "trigger": "add_evidence",
            "source": [
                "negotiation",
                "mediation",
                "arbitration",
                "settled",
                "awarded",
                "referred",
                "with_partner",
            ],
            "dest": None,
            "roles": PARTIES,
        },
        {"trigger": "add_evidence", "source": "filed", "dest": None, "roles": ["claimant"]},
        {
            "trigger": "submit_statement",
            "source": "arbitration",
            "dest": None,
            "roles": PARTIES,
            "conditions": ["statement_window_open"],
        },
        # neutrals: a case manager reassigns, a neutral recuses
        {
            "trigger": "reassign",
            "source": ["mediation", "arbitration"],
            "dest": None,
            "roles": ["case_manager"],
        },
        {
            "trigger": "recuse",
            "source": "mediation",
            "dest": None,
            "roles": ["mediator"],
        },
        {
            "trigger": "recuse",
            "source": "arbitration",
            "dest": None,
            "roles": ["arbitrator"],
        },
        # the claimant may withdraw at any time before a settlement or an award
        {
            "trigger": "withdraw",
            "source": OPEN_BEFORE_OUTCOME,
            "dest": "withdrawn",
            "roles": ["claimant"],
        },
    ],
}
