"""The evidence file of a dispute.

An upload is judged by its bytes, never by its name or declared type: a PDF, a PNG, JPEG or WebP
image, or plain UTF-8 text, at most 10 MB, and at most 50 MB for a dispute. A PDF is inspected by
`odr.cases.pdf_inspection` in a child process bounded in CPU time, wall time and memory
(`check_pdf`, which a partner agency's outcome document goes through too): one that would act by
itself or reach outside the document (JavaScript, actions other than a link, embedded files, rich
media, XFA forms), that cannot be read, or that costs too much to read is refused, naming the
field. The bytes are stored by their SHA-256 before the transaction; `fire` then records the
evidence in the case's event log. A download is refused when the stored bytes no longer match
their hash.
"""

from __future__ import annotations

import codecs
import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from flask import Response
from flask_babel import lazy_gettext as _l

from odr import bounded
from odr.accounts.models import User
from odr.cases import pdf_inspection
from odr.cases.guards import GuardContext
from odr.cases.models import Case, Evidence
from odr.cases.services import (
    effect,
    find_case,
    fire,
    load_users,
    parameters,
    refuse_unless_allowed,
    tell_parties,
    tell_user,
)
from odr.documents.storage import get_storage, sha256_of
from odr.errors import Conflict, NotFound, ValidationError
from odr.extensions import db
from odr.workflow import Transition

log = logging.getLogger(__name__)

MB = 1024 * 1024
MAX_FILE_SIZE = 10 * MB
MAX_CASE_SIZE = 50 * MB
# What a request carrying one file may weigh: the file and the multipart envelope around it.
MAX_UPLOAD_REQUEST = MAX_FILE_SIZE + 64 * 1024
MAX_FILENAME = 120
EXTENSIONS = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/webp": (".webp",),
    "text/plain": (".txt",),
}
SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)

NO_FILE = _l("Choose a file to upload.")
EMPTY = _l("The file is empty.")
TOO_LARGE = _l("A file may be at most %(size)s.", size="10 MB")
UNSUPPORTED = _l(
    "This type of file is not accepted. Upload a PDF, a PNG, JPEG or WebP image, "
    "or plain text (UTF-8)."
)
NOT_UTF8 = _l("This text is not in UTF-8. Save it as UTF-8 text and upload it again.")
NOT_PLAIN = _l(
    "This is not plain text: it holds a script, web page markup or control characters. "
    "Upload a PDF, an image or plain text."
)
PDF_ACTIVE = _l(
    "This PDF contains JavaScript, a launch action, embedded files or interactive media, "
    "which are not accepted. Print it to a new PDF and upload that."
)
PDF_ACTION = _l(
    "This PDF contains actions that open other files or addresses, send forms or play media, "
    "which are not accepted (links to web pages are fine). Print it to a new PDF and upload that."
)
PDF_UNREADABLE = _l(
    "This PDF could not be read: it may be damaged or protected by a password. "
    "Save it again as a PDF and upload that."
)
PDF_TOO_COSTLY = _l(
    "This PDF is too large or too complex to check: it unpacks to too much data or holds too "
    "many objects. Print it to a new PDF and upload that."
)
PDF_REFUSALS = {
    "active": PDF_ACTIVE,
    "action": PDF_ACTION,
    "unreadable": PDF_UNREADABLE,
    "too_costly": PDF_TOO_COSTLY,
}
DUPLICATE = _l("This file is already in the evidence of this dispute.")


class EvidenceTooLarge(ValidationError):
    status = 413

    def __init__(self) -> None:
        super().__init__({"file": TOO_LARGE})


class DamagedEvidence(Conflict):
    """The stored bytes are missing or no longer match the SHA-256 recorded at upload."""


@dataclass(frozen=True)
class CheckedFile:
    """An upload that passed `check_upload`: what `fire` records once the bytes are stored."""

    filename: str
    media_type: str
    size: int
    sha256: str


def _invalid(message: Any) -> ValidationError:
    return ValidationError({"file": message})


# ---- names ---------------------------------------------------------------------------------------


def display_filename(raw: str | None) -> str:
    """The name to show: the last path segment, without control characters, length-capped.
    It is never used to store or find the file."""
    name = unicodedata.normalize("NFC", raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = " ".join(name.split())  # line breaks and tabs become one space
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C")).strip(". ")
    if len(name) > MAX_FILENAME:
        stem, dot, extension = name.rpartition(".")
        tail = f".{extension}" if dot and stem and len(extension) <= 10 else ""
        name = name[: MAX_FILENAME - len(tail)].rstrip(". ") + tail
    return name or "evidence"


def download_name(evidence: Evidence) -> str:
    """The display name, with an extension that matches the content (`notes.bat` → `.bat.txt`),
    so the reader's computer never opens the file as something else."""
    extensions = EXTENSIONS[evidence.media_type]
    if evidence.filename.lower().endswith(extensions):
        return evidence.filename
    return evidence.filename + extensions[0]


def content_disposition(name: str) -> str:
    """`attachment` with a plain ASCII `filename`, and the exact name as RFC 5987 `filename*`
    when the two differ. `name` ends with one of the EXTENSIONS."""
    stem, extension = name[: name.rfind(".")], name[name.rfind(".") :]
    simple = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    simple = re.sub(r"[^A-Za-z0-9 ._()+-]", "_", simple).strip(" ._") or "evidence"
    value = f'attachment; filename="{simple}{extension}"'
    if simple + extension != name:
        value += "; filename*=UTF-8''" + quote(name, safe="")
    return value


# ---- content -------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x01-\x08\x0b\x0e-\x1f\x7f-\x9f]")
# What a browser would take for a web page or an XML document (after the WHATWG MIME sniffing
# patterns), and a script's `#!` line: text, but not plain text.
_MARKUP = re.compile(
    r"<(?:!doctype\s+html|html|head|body|script|iframe|svg|\?xml|!--|style|title|a|b|br|p|div"
    r"|table|font|h1|img|object|embed)[\s>/]",
    re.IGNORECASE,
)


def _text_type(data: bytes) -> str:
    try:
        text = data.removeprefix(codecs.BOM_UTF8).decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid(UNSUPPORTED if b"\x00" in data[:8192] else NOT_UTF8) from None
    if "\x00" in text:
        raise _invalid(UNSUPPORTED)
    start = text.lstrip()
    if _CONTROL.search(text) or start.startswith("#!") or _MARKUP.match(start[:64]):
        raise _invalid(NOT_PLAIN)
    return "text/plain"


def media_type_of(data: bytes) -> str:
    """The type of the bytes, from their content alone; anything not accepted is refused."""
    for signature, media_type in SIGNATURES:
        if data.startswith(signature):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return _text_type(data)


def check_pdf(data: bytes, field: str = "file") -> None:
    """Refuse the PDF, naming `field`, unless `pdf_inspection` accepts it. The inspection runs in
    a child process (a forkserver child: 20-30 ms more) limited to `SECONDS` of CPU and wall time
    and `MEMORY_MB` of address space: a file that needs more is refused as too costly."""
    try:
        verdict = bounded.run_bounded(
            pdf_inspection.inspect_pdf,
            data,
            seconds=pdf_inspection.SECONDS,
            memory_mb=pdf_inspection.MEMORY_MB,
        )
    except bounded.OutOfBounds as stopped:
        verdict = "too_costly"
        log.warning("PDF inspection stopped (%s, exit code %s)", stopped.bound, stopped.exit_code)
    if verdict != "accepted":
        log.info("PDF of %d bytes refused: %s", len(data), verdict)
        raise ValidationError({field: PDF_REFUSALS[verdict]})


def check_upload(filename: str | None, data: bytes | None) -> CheckedFile:
    """Size, type by content, and for a PDF its safety; ValidationError naming `file`."""
    if data is None:
        raise _invalid(NO_FILE)
    if not data:
        raise _invalid(EMPTY)
    if len(data) > MAX_FILE_SIZE:
        raise EvidenceTooLarge()
    media_type = media_type_of(data)
    if media_type == "application/pdf":
        check_pdf(data)
    return CheckedFile(display_filename(filename), media_type, len(data), sha256_of(data))


# ---- recording -----------------------------------------------------------------------------------


def _ensure_room(case_id: int, file: CheckedFile) -> None:
    used, duplicates = db.session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(Evidence.size), 0),
            sa.func.coalesce(sa.func.sum(sa.case((Evidence.sha256 == file.sha256, 1), else_=0)), 0),
        ).where(Evidence.case_id == case_id)
    ).one()
    if duplicates:
        raise _invalid(DUPLICATE)
    if used + file.size > MAX_CASE_SIZE:
        left = f"{max(MAX_CASE_SIZE - used, 0) / MB:.1f} MB"
        raise _invalid(
            _l(
                "The evidence of a dispute may add up to at most %(total)s; %(left)s remain.",
                total="50 MB",
                left=left,
            )
        )


def add_evidence(case: Case, actor: User, filename: str | None, data: bytes | None) -> Evidence:
    """Check the upload, store its bytes, then record it through `fire`.

    The bytes are written before the transaction: storage is content-addressed, so a record that
    is then refused or rolled back leaves at most an unreferenced file behind.
    """
    refuse_unless_allowed(case, "add_evidence", actor)
    file = check_upload(filename, data)
    _ensure_room(case.id, file)
    get_storage().put(data)
    fire(case, "add_evidence", actor, file=file)
    return db.session.scalars(
        sa.select(Evidence).where(Evidence.case_id == case.id, Evidence.sha256 == file.sha256)
    ).one()


@parameters("add_evidence")
def _check_file(params: dict[str, Any]) -> dict[str, Any]:
    file = params.get("file")
    if not isinstance(file, CheckedFile) or not get_storage().exists(file.sha256):
        raise _invalid(NO_FILE)
    return {"file": file}


@effect("add_evidence")
def _record_evidence(ctx: GuardContext, transition: Transition) -> dict[str, Any]:
    file: CheckedFile = ctx.params["file"]
    _ensure_room(ctx.case.id, file)  # again under the case's lock: two uploads at once
    evidence = Evidence(
        case_id=ctx.case.id,
        uploader_id=ctx.actor.id,
        uploader_role=ctx.role,
        filename=file.filename,
        media_type=file.media_type,
        size=file.size,
        sha256=file.sha256,
    )
    db.session.add(evidence)
    db.session.flush()
    tell_parties(ctx.case, parties=(ctx.other_party,), kind="evidence_added", actor=ctx.actor)
    neutral_id = {"mediation": ctx.case.mediator_id, "arbitration": ctx.case.arbitrator_id}.get(
        ctx.case.state
    )
    if neutral_id is not None:
        tell_user(ctx.case, db.session.get(User, neutral_id), kind="evidence_added")
    return {
        "evidence": evidence.public_id,
        "sha256": file.sha256,
        "size": file.size,
        "media_type": file.media_type,
    }


# ---- reading -------------------------------------------------------------------------------------


def list_evidence(
    user: Any, public_id: str, *, limit: int = 50, after_id: int | None = None
) -> tuple[list[Evidence], dict[int, User]]:
    """Oldest first, by keyset on the id; with the uploaders."""
    case = find_case(user, public_id)
    query = (
        sa.select(Evidence).where(Evidence.case_id == case.id).order_by(Evidence.id).limit(limit)
    )
    if after_id is not None:
        query = query.where(Evidence.id > after_id)
    rows = list(db.session.scalars(query))
    return rows, load_users({row.uploader_id for row in rows})


def read_evidence(user: Any, public_id: str, evidence_id: str) -> tuple[Evidence, bytes]:
    """The evidence and its bytes, for whoever may see the case, once the bytes match their hash."""
    case = find_case(user, public_id)
    evidence = db.session.scalar(
        sa.select(Evidence).where(Evidence.case_id == case.id, Evidence.public_id == evidence_id)
    )
    if evidence is None:
        raise NotFound()
    try:
        data: bytes | None = get_storage().read(evidence.sha256)
    except FileNotFoundError:
        data = None
    if data is None or sha256_of(data) != evidence.sha256:
        log.warning(
            "evidence %s of %s: the stored file %s; download by user %s refused",
            evidence.public_id,
            case.reference,
            "is missing" if data is None else "does not match its SHA-256",
            getattr(user, "id", None),
        )
        raise DamagedEvidence("damaged")
    return evidence, data


def evidence_to_api(evidence: Evidence, uploader: User | None, url: str) -> dict[str, Any]:
    return {
        "id": evidence.public_id,
        "filename": evidence.filename,
        "media_type": evidence.media_type,
        "size": evidence.size,
        "sha256": evidence.sha256,
        "uploader": {
            "role": evidence.uploader_role,
            "name": uploader.name if uploader is not None else None,
        },
        "created_at": evidence.created_at.isoformat(),
        "url": url,
    }


def attachment(evidence: Evidence, data: bytes) -> Response:
    """The file as a download that no browser renders, sniffs or lets run anything."""
    response = Response(data, mimetype=evidence.media_type)  # text/plain gets charset=utf-8
    response.headers["Content-Disposition"] = content_disposition(download_name(evidence))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["ETag"] = f'"{evidence.sha256}"'
    return response
