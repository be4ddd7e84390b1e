"""Issuing, rendering and verifying documents.

A settlement agreement is issued when a case enters `settled`, an award when it enters `awarded`,
in the same transaction: the document row is `pending` and holds what it states (`content`, the
JSON twin attached to the PDF). Rendering happens later, off the request path: a queue task right
after the commit, and `flask odr sweep` for anything still pending. Each render runs in a child
process bounded in time and memory; a render that fails or runs past its bounds is retried later
with backoff. Verification codes are 80 random bits in Crockford's base 32.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import IO, Any

import sqlalchemy as sa
from flask import Response

from odr import clock
from odr.cases import performance
from odr.cases.events import append_event
from odr.cases.hooks import on_enter
from odr.cases.models import Case
from odr.cases.reading import find_case
from odr.db import write_transaction
from odr.delivery.notices import ENTRY_MAILS
from odr.delivery.services import ATTACHMENT_READERS, queue_mail
from odr.documents.codes import display_code, new_verification_code, normalise_code
from odr.documents.content import award_content, case_file_content, settlement_content
from odr.documents.models import Document
from odr.errors import Conflict, NotFound
from odr.evidence.checks import content_disposition
from odr.extensions import db
from odr.i18n import normalise_language
from odr.metrics import PDF_RENDER_SECONDS
from odr.queue import schedule_delivery, schedule_rendering
from odr.storage import StoredFileDamaged, checked_copy, get_storage, streamed

log = logging.getLogger(__name__)

RETRY_AFTER = (timedelta(minutes=1), timedelta(minutes=10), timedelta(hours=1), timedelta(hours=6))
# The documents both parties get by mail, the PDF attached, once rendered: that mail is how they
# hear the case is settled or awarded, so entering those states sends them no other.
MAILED_TO_PARTIES = ("settlement_agreement", "award")
ENTRY_MAILS.update(settled=False, awarded=False)


class DamagedDocument(Conflict):
    """The stored bytes are missing or no longer match the document's SHA-256."""


def document_languages(case: Case) -> list[str]:
    """One language when the parties share it; otherwise the claimant's, then the respondent's."""
    claimant = normalise_language(case.claimant_language) or "en"
    respondent = normalise_language(case.respondent_language) or "en"
    return [claimant] if claimant == respondent else [claimant, respondent]


def issue_document(
    case: Case,
    kind: str,
    content: dict[str, Any],
    *,
    reader_id: int | None = None,
    supersedes: Document | None = None,
    languages: list[str] | None = None,
    received: tuple[str, int] | None = None,
) -> Document:
    """A pending document in the caller's transaction (which holds the case for writing).

    A document received as a file already in storage (`received`: its SHA-256 and size, such as
    a partner agency's outcome) is ready at once and never rendered.
    """
    document = Document(
        case_id=case.id,
        kind=kind,
        languages=languages or document_languages(case),
        reader_id=reader_id,
        verification_code=new_verification_code(),
        content=content,
    )
    if received is not None:
        document.sha256, document.size = received
        document.status, document.rendered_at = "ready", clock.now()
    db.session.add(document)
    db.session.flush()
    if supersedes is not None:
        supersedes.superseded_by_id = document.id
    append_event(
        case,
        kind="document_issued",
        actor=None,
        role="system",
        data={"document": document.public_id, "kind": kind},
    )
    if received is None:
        db.session.info.setdefault("documents_to_render", []).append(document.id)
    return document


def list_documents(
    user: Any, public_id: str, *, limit: int = 100, after_id: int | None = None
) -> list[Document]:
    """The case's documents the user may read, oldest first, a keyset page at a time."""
    case = find_case(user, public_id)
    query = sa.select(Document).where(
        Document.case_id == case.id,
        sa.or_(Document.reader_id.is_(None), Document.reader_id == user.id),
    )
    if after_id is not None:
        query = query.where(Document.id > after_id)
    return list(db.session.scalars(query.order_by(Document.id).limit(limit)))


def document_to_api(document: Document, superseded_by: str | None, url: str) -> dict[str, Any]:
    return {
        "id": document.public_id,
        "kind": document.kind,
        "status": document.status,
        "languages": document.languages,
        "sha256": document.sha256,
        "verification_code": display_code(document.verification_code),
        "superseded_by": superseded_by,
        "created_at": document.created_at.isoformat(),
        "url": url if document.status == "ready" else None,
    }


def public_ids(ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = db.session.execute(
        sa.select(Document.id, Document.public_id).where(Document.id.in_(wanted))
    )
    return dict(rows.all())


def find_document(user: Any, document_public_id: str) -> Document:
    """A document the user may read (those on its case), else NotFound."""
    document = db.session.scalar(
        sa.select(Document).where(Document.public_id == document_public_id)
    )
    if document is None or document.reader_id not in (None, user.id):
        raise NotFound()
    case = db.session.get(Case, document.case_id)
    find_case(user, case.public_id)
    return document


def document_file(document: Document) -> IO[bytes]:
    """A copy of the stored file checked against its SHA-256 (a damaged file is never served);
    `pdf_response` sends and closes it."""
    if document.status != "ready":
        raise NotFound("the document is still being prepared")
    try:
        return checked_copy(document.sha256)
    except (FileNotFoundError, StoredFileDamaged) as error:
        log.error(
            "document %s: the stored file %s",
            document.public_id,
            "is missing" if isinstance(error, FileNotFoundError) else "does not match its SHA-256",
        )
        raise DamagedDocument(
            "the stored file no longer matches the SHA-256 recorded when it was issued; "
            "it is not sent, and the ODR team has been told"
        ) from None


def document_bytes(document: Document) -> bytes:
    """The checked stored file whole, to attach to a mail."""
    with document_file(document) as copy:
        return copy.read()


def document_filename(document: Document) -> str:
    reference = db.session.scalar(sa.select(Case.reference).where(Case.id == document.case_id))
    return f"{reference}-{document.kind.replace('_', '-')}-{document.verification_code[:4]}.pdf"


def pdf_response(document: Document, data: IO[bytes]) -> Response:
    """The PDF as a download, never sniffed or run in the browser."""
    response = streamed(data, "application/pdf")
    response.headers["Content-Disposition"] = content_disposition(document_filename(document))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["ETag"] = f'"{document.sha256}"'
    return response


def verify(code: str) -> dict[str, Any]:
    """What anyone may know of a document from its code; NotFound for an unknown code."""
    document = db.session.scalar(
        sa.select(Document).where(Document.verification_code == normalise_code(code))
    )
    if document is None:
        raise NotFound()
    reference = db.session.scalar(sa.select(Case.reference).where(Case.id == document.case_id))
    superseded_by = None
    if document.superseded_by_id is not None:
        newer = db.session.get(Document, document.superseded_by_id)
        superseded_by = display_code(newer.verification_code)
    return {
        "valid": document.status == "ready",
        "status": document.status,
        "kind": document.kind,
        "reference": reference,
        "sha256": document.sha256,
        "issued_at": document.created_at,
        "superseded_by": superseded_by,
        "verification_code": display_code(document.verification_code),
    }


def verify_file(sha256: str) -> dict[str, Any] | None:
    """What anyone may know of the issued document whose file has this SHA-256, with its
    languages; None when none has it: the file is not ours, or was changed since (one byte
    changes the hash). A pending document has no file yet, so it never matches."""
    document = db.session.scalar(
        sa.select(Document)
        .where(Document.sha256 == sha256, Document.status == "ready")
        .order_by(Document.id)
        .limit(1)
    )
    if document is None:
        return None
    return verify(document.verification_code) | {"languages": list(document.languages)}


def request_case_file(user: Any, public_id: str) -> Document:
    """A case file for this reader, in their language; rendered off the request path."""
    from odr.cases.firing import lock_case

    case = find_case(user, public_id)
    with write_transaction(db.session):
        case = lock_case(case.id)
        document = issue_document(
            case,
            "case_file",
            case_file_content(user, case),
            reader_id=user.id,
            languages=[normalise_language(user.language) or "en"],
        )
    if db.session.info.pop("documents_to_render", None):
        schedule_rendering()
    return document


@on_enter("settled")
def _issue_settlement_agreement(case: Case, came_from: str) -> None:
    issue_document(case, "settlement_agreement", settlement_content(case))


@on_enter("awarded")
def _issue_award(case: Case, came_from: str) -> None:
    issue_document(case, "award", award_content(case))


# ---- rendering -----------------------------------------------------------------------------------


def render_due(limit: int = 20) -> int:
    """Render every pending document whose time has come; returns how many became ready."""
    due = db.session.execute(
        sa.select(Document.id, Document.next_attempt_at)
        .where(Document.status == "pending", Document.next_attempt_at <= clock.now())
        .order_by(Document.next_attempt_at, Document.id)
        .limit(limit)
    ).all()
    db.session.rollback()
    ready = sum(render_one(document_id, seen) for document_id, seen in due)
    if ready:
        schedule_delivery()  # the mails that carry them
    return ready


def render_one(document_id: int, seen_next_attempt: Any = None) -> int:
    """Lease the document (so two workers never render it at once), render, store; 1 when ready."""
    from odr.documents.pdf import build_pdf

    with write_transaction(db.session):
        query = (
            sa.update(Document)
            .where(Document.id == document_id, Document.status == "pending")
            .values(
                next_attempt_at=clock.now() + timedelta(minutes=10),
                attempts=Document.attempts + 1,
            )
        )
        if seen_next_attempt is not None:
            query = query.where(Document.next_attempt_at == seen_next_attempt)
        if db.session.execute(query).rowcount != 1:
            return 0
    document = db.session.get(Document, document_id)
    try:
        with PDF_RENDER_SECONDS.labels(kind=document.kind).time():
            data = build_pdf(document)
    except Exception as exc:  # any failure leaves it pending, for a later attempt
        _record_failure(document_id, exc)
        return 0
    sha256 = get_storage().put(data)
    with write_transaction(db.session):
        done = db.session.execute(
            sa.update(Document)
            .where(Document.id == document_id, Document.status == "pending")
            .values(
                status="ready", sha256=sha256, size=len(data), rendered_at=clock.now(),
                last_error=None,
            )
        )  # fmt: skip
        if done.rowcount != 1:  # another worker, past this one's lease, finished it first
            return 0
        if document.kind in MAILED_TO_PARTIES:
            _send_to_parties(document)
    return 1


def _send_to_parties(document: Document) -> None:
    """Each party, in its language: what the document settles or decides, how much, by when (in
    the respondent's zone, and in the reader's own), what to do now; the PDF attached."""
    case = db.session.get(Case, document.case_id)
    terms = document.content["terms"]
    amount = terms.get("amount") or {}
    due = date.fromisoformat(terms["performance_due"]) if terms.get("performance_due") else None
    due_zone = terms.get("performance_zone")
    for party in ("claimant", "respondent"):
        queue_mail(
            to=getattr(case, f"{party}_email"),
            language=getattr(case, f"{party}_language"),
            template="settled_or_awarded",
            key=f"settled_or_awarded:{document.public_id}:{party}",
            case_id=case.id,
            attachments=[{"source": "document", "id": document.public_id}],
            case=case,
            document=document,
            recipient=party,
            amount_minor=amount.get("amount_minor"),
            currency=amount.get("currency"),
            remedy=terms.get("remedy"),
            due=due,
            due_zone=due_zone,
            due_at=performance.last_second(due, due_zone) if due else None,
            zone=performance.party_zone(case, party),
            neutral=(document.content.get("neutral") or {}).get("name"),
        )


def _document_attachment(public_id: str) -> tuple[str, bytes, str]:
    document = db.session.scalar(sa.select(Document).where(Document.public_id == public_id))
    return document_filename(document), document_bytes(document), "application/pdf"


ATTACHMENT_READERS["document"] = _document_attachment


def _record_failure(document_id: int, exc: Exception) -> None:
    with write_transaction(db.session):
        document = db.session.get(Document, document_id)
        wait = RETRY_AFTER[min(document.attempts, len(RETRY_AFTER)) - 1]
        document.next_attempt_at = clock.now() + wait
        document.last_error = f"{type(exc).__name__}: {exc}"[:1000]
    log.warning("document %s: render failed (%s)", document_id, type(exc).__name__)
