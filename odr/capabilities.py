"""The one list of what the app factory loads, in order: every table, then every module that
registers with the case core (`odr.cases.hooks`), the workflow's guards or the queue.

A module registers when it is imported, with the decorators of `odr.cases.hooks`; what runs on
each event, in which order, is printed by `registrations()` there and in `docs/lifecycle.md`.
A new capability adds its modules here: a module that registers without being listed stops the
app from starting, and the test of the lifecycle page fails until the page shows what it
registered.
"""

from __future__ import annotations

from importlib import import_module

MODELS = (
    "odr.accounts.models",
    "odr.accounts.audit",
    "odr.cases.models",
    "odr.negotiation.models",
    "odr.mediation.models",
    "odr.arbitration.models",
    "odr.referrals.models",
    "odr.documents.models",
    "odr.delivery.models",
    "odr.analytics.models",
    "odr.api.models",
)

# Each module and what it registers. The listeners of one event run in this order.
CAPABILITIES = (
    "odr.cases.guards",  # the workflow's named conditions
    "odr.cases.actions",  # consent, performance, breach, messages, notes
    "odr.analytics.services",  # the merchants' counters
    "odr.analytics.metrics",  # the operator's counters: disputes lodged, actions fired
    "odr.accounts.invitations",  # the merchant's invitation when a dispute is lodged
    "odr.delivery.notices",  # mails and notices on each change, reminders, the receipt
    "odr.negotiation.services",  # offers
    "odr.evidence.services",  # evidence files
    "odr.mediation.services",  # mediators and arbitrators assigned, proposals
    "odr.arbitration.services",  # statements and awards
    "odr.documents.services",  # settlement agreements and awards as PDF
    "odr.referrals.lifecycle",  # routing abroad, the referral's actions
    "odr.referrals.reports",  # the agency's progress and outcome
    "odr.referrals.webhooks",  # webhooks in the outbox
    "odr.cases.drafts",  # lodging drafts kept across an ended session
    "odr.worker",  # the queue's tasks
)


def load_capabilities() -> None:
    from odr.cases.hooks import put_in_order

    for name in MODELS + CAPABILITIES:
        import_module(name)
    put_in_order(list(CAPABILITIES))
