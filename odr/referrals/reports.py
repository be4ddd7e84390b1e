"""What a partner agency reports on a dispute it took on: progress, and the outcome that ends it.

Progress is a `status` from a fixed vocabulary (`odr.referrals.progress`; the code is kept in the
event, the parties read its label) with an optional note. The
outcome closes the referral and ends the dispute: `settled` or `awarded` → resolved, `unresolved`,
`withdrawn`; the agency's summary goes on the timeline and into the notices to both parties, and
an optional PDF becomes a `partner_outcome` document. A report sent again (a retry after a lost
answer) is recognised by its digest and answered without a second effect.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from flask_babel import lazy_gettext as _l

from odr import clock
from odr.accounts.models import User
from odr.cases.firing import fire, refuse_unless_allowed
from odr.cases.guards import GuardContext
from odr.cases.hooks import after, effect, parameters
from odr.cases.models import Case
from odr.delivery.notices import tell_parties
from odr.documents.services import issue_document
from odr.errors import ValidationError
from odr.evidence.checks import (
    EMPTY,
    MAX_FILE_SIZE,
    TOO_LARGE,
    CheckedFile,
    check_pdf,
    display_filename,
)
from odr.evidence.services import store_checked_file
from odr.extensions import db
from odr.referrals.models import Partner, Referral
from odr.referrals.progress import PROGRESS_CODES
from odr.referrals.services import open_referral_of, referral_event, referral_url
from odr.referrals.webhooks import queue_webhook
from odr.storage import get_storage, sha256_of
from odr.validation import FieldReader
from odr.workflow import Transition

OUTCOMES = ("settled", "awarded", "unresolved", "withdrawn")
MAX_SUMMARY = 5000
DOCUMENT_FIELDS = {"filename", "content_base64"}


# ---- progress ------------------------------------------------------------------------------------


@parameters("report_progress")
def _check_progress(params: dict[str, Any]) -> dict[str, Any]:
    reader = FieldReader()
    status = reader.choice(params, "status", "status", PROGRESS_CODES)
    note = reader.string(params, "note", "note", max_length=2000, required=False, multiline=True)
    reader.raise_if_errors()
    return {"status": status, "note": note}


@effect("report_progress")
def _record_progress(ctx: GuardContext, transition: Transition) -> dict[str, Any]:
    referral = open_referral_of(ctx.case, ctx.actor.partner_id)
    shown = {"status": ctx.params["status"], "note": ctx.params["note"] or ""}
    tell_parties(
        ctx.case,
        parties=("claimant", "respondent"),
        kind="partner_update",
        actor=ctx.actor,
        shown=shown,
    )
    return {"referral": referral.public_id, "status": ctx.params["status"]}


# ---- outcome -------------------------------------------------------------------------------------


@parameters("report_outcome")
def _check_outcome(params: dict[str, Any]) -> dict[str, Any]:
    reader = FieldReader()
    outcome = reader.choice(params, "outcome", "outcome", OUTCOMES)
    summary = reader.string(params, "summary", "summary", max_length=MAX_SUMMARY, multiline=True)
    amount = None
    if params.get("amount") is not None:
        amount = reader.money(params, "amount", "amount", allow_zero=True)
    document = params.get("document")
    if document is not None and not (
        isinstance(document, CheckedFile) and get_storage().exists(document.sha256)
    ):
        reader.fail("document", _l("Send the document as {filename, content_base64}."))
    reader.raise_if_errors()
    return {"outcome": outcome, "summary": summary, "amount": amount, "document": document}


def decode_outcome_document(value: Any) -> tuple[str, bytes] | None:
    """The file name and bytes of an API outcome's `{"filename", "content_base64"}`."""
    if value is None:
        return None
    reader = FieldReader()
    document = reader.obj(value, "document", DOCUMENT_FIELDS)
    filename = reader.string(document, "filename", "document.filename", max_length=200)
    encoded = reader.string(
        document, "content_base64", "document.content_base64", max_length=MAX_FILE_SIZE * 2
    )
    reader.raise_if_errors()
    try:
        return filename, base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError({"document.content_base64": _l("Not valid base64.")}) from None


def store_outcome_pdf(filename: str | None, data: bytes, field: str) -> CheckedFile:
    """The outcome's PDF checked to be a PDF of at most 10 MB with nothing active in it (by the
    evidence's own bounded inspection, `check_pdf`), and stored (content-addressed, so a report
    then refused leaves at most an unreferenced file); a refusal names `field`."""
    if not data:
        raise ValidationError({field: EMPTY})
    if len(data) > MAX_FILE_SIZE:
        raise ValidationError({field: TOO_LARGE})
    if not data.startswith(b"%PDF-"):
        raise ValidationError({field: _l("Send the document as a PDF.")})
    check_pdf(data, field)
    file = CheckedFile(display_filename(filename), "application/pdf", len(data), sha256_of(data))
    return store_checked_file(file, data)


def outcome_pdf(
    body: dict[str, Any], upload: tuple[str | None, bytes] | None
) -> tuple[tuple[str | None, bytes] | None, str]:
    """The outcome's PDF, from a form's upload or the API body, and the field it answers to."""
    if upload is not None:
        return upload, "document"
    return decode_outcome_document(body.get("document")), "document.content_base64"


def outcome_digest(params: dict[str, Any], pdf_sha256: str | None) -> str:
    """The report in canonical form, hashed: equal for the same report sent twice."""
    canonical = {
        "outcome": params["outcome"],
        "summary": params["summary"],
        "amount": list(params["amount"]) if params.get("amount") else None,
        "document": pdf_sha256,
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def report_outcome(
    case: Case, actor: User, body: dict[str, Any], upload: tuple[str | None, bytes] | None = None
) -> None:
    """Check the report (the document last: it is the costly part), store the PDF, then fire.
    The PDF comes in the API body as base64, or from a form as `upload` (file name, bytes)."""
    refuse_unless_allowed(case, "report_outcome", actor)
    _check_outcome({**body, "document": None})
    pdf, field = outcome_pdf(body, upload)
    document = store_outcome_pdf(*pdf, field) if pdf is not None else None
    fire(case, "report_outcome", actor, **{**body, "document": document})


def same_outcome_reported(
    referral: Referral, body: dict[str, Any], upload: tuple[str | None, bytes] | None = None
) -> bool:
    """Whether this closed referral's outcome is the very report in `body` (a replay)."""
    if referral.status != "closed" or referral.outcome_digest is None:
        return False
    try:
        params = _check_outcome({**body, "document": None})
        pdf, _field = outcome_pdf(body, upload)
    except ValidationError:
        return False
    digest = outcome_digest(params, sha256_of(pdf[1]) if pdf is not None else None)
    return digest == referral.outcome_digest


@effect("report_outcome")
def _record_outcome(ctx: GuardContext, transition: Transition) -> dict[str, Any]:
    referral = open_referral_of(ctx.case, ctx.actor.partner_id)
    partner = db.session.get(Partner, referral.partner_id)
    params = ctx.params
    file: CheckedFile | None = params["document"]
    referral.status, referral.closed_at = "closed", clock.now()
    referral.outcome = params["outcome"]
    referral.outcome_digest = outcome_digest(params, file.sha256 if file else None)
    data: dict[str, Any] = {"referral": referral.public_id, "outcome": params["outcome"]}
    if params["amount"]:
        data["amount"], data["currency"] = params["amount"]
    if file is not None:
        document = issue_document(
            ctx.case,
            "partner_outcome",
            {
                "outcome": params["outcome"],
                "partner": partner.name,
                "partner_reference": referral.partner_reference,
                "filename": file.filename,
            },
            languages=list(partner.languages),
            received=(file.sha256, file.size),
        )
        data["document"] = document.public_id
    ctx.notice.update(partner=partner.name, summary=params["summary"])
    return data


@after("add_evidence")
def _tell_the_agency_of_new_evidence(ctx: GuardContext, data: dict[str, Any]) -> None:
    """Evidence added while an agency holds the dispute reaches it as `referral.evidence_added`."""
    referral = open_referral_of(ctx.case)
    if referral is None:
        return
    partner = db.session.get(Partner, referral.partner_id)
    url = referral_url(referral.public_id, "evidence", data["evidence"])
    event = referral_event(referral, ctx.case) | {
        "evidence": {
            "id": data["evidence"],
            "sha256": data["sha256"],
            "size": data["size"],
            "media_type": data["media_type"],
            "url": url,
        }
    }
    queue_webhook(partner, "referral.evidence_added", event, case_id=ctx.case.id)
