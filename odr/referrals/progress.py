"""The words a partner agency reports progress in: a fixed vocabulary, translated wherever shown.

A partner sends one of `PROGRESS_CODES` as a report's `status`; the parties read its label in
their language on the dispute page, in their notices and mails, and in the case file, never the
code. The codes are part of the API contract (docs/api.md, docs/partners.md, the OpenAPI spec).

Reports sent before the vocabulary existed carry codes of the agency's own choosing. They stay as
they were recorded (the events are in a hash chain and are never rewritten) and read as the
generic `in_progress`; a new report with a code outside the vocabulary is refused.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

GENERIC = "in_progress"

PROGRESS_LABELS = {
    "received": _l("Received by the agency"),
    "under_review": _l("The agency is reviewing the dispute"),
    "documents_requested": _l("The agency asked for documents"),
    "contacted_merchant": _l("The agency contacted the merchant"),
    "awaiting_party": _l("Waiting for a party to answer"),
    "in_mediation": _l("In mediation at the agency"),
    "hearing_scheduled": _l("Hearing scheduled"),
    "hearing_held": _l("Hearing held"),
    "proposal_sent": _l("Settlement proposal sent to the parties"),
    "decision_pending": _l("Waiting for the agency's decision"),
    GENERIC: _l("In progress"),
}
PROGRESS_CODES = tuple(PROGRESS_LABELS)


def progress_label(code: str | None) -> str:
    """What a person reads for a reported `status`: its label in the current language; a code
    from before the vocabulary (or none) reads as the generic "In progress"."""
    return str(PROGRESS_LABELS.get(code or GENERIC, PROGRESS_LABELS[GENERIC]))
