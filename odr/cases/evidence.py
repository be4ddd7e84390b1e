"""The evidence file of a dispute.

An upload is judged by its bytes, never by its name or declared type: a PDF, a PNG, JPEG or WebP
image, or plain UTF-8 text, at most 10 MB, and at most 50 MB for a dispute. A PDF with active
content (JavaScript, launch actions, embedded files, rich media, XFA forms) is refused; it is
looked for twice, in the raw bytes (so a PDF too broken for a parser still cannot pass) and in
the objects pypdf reads (so names hidden in compressed object streams are found too). The bytes
are stored by their SHA-256 before the transaction; `fire` then records the evidence in the case's
event log. A download is refused when the stored bytes no longer match their hash.
"""

from __future__ import annotations

import codecs
import io
import logging
import re
import unicodedata
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from flask import Response
from flask_babel import lazy_gettext as _l

from odr.accounts.models import User
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
FORBIDDEN_PDF_NAMES = frozenset(
    {"/JavaScript", "/JS", "/Launch", "/EmbeddedFile", "/EmbeddedFiles", "/RichMedia", "/XFA"}
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
PDF_UNREADABLE = _l(
    "This PDF could not be read: it may be damaged or protected by a password. "
    "Save it again as a PDF and upload that."
)
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


_NAME = re.compile(rb"/[^\x00\t\n\x0c\r ()<>\[\]{}/%]*")
_HEX_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM = re.compile(rb">>\s*stream(?:\r\n|\n|\r)")
MAX_INFLATED = 64 * MB


def _names(chunk: bytes) -> set[str]:
    """The PDF name tokens in the bytes, escapes decoded: `/J#61vaScript` is `/JavaScript`."""
    return {
        _HEX_ESCAPE.sub(lambda m: bytes([int(m[1], 16)]), raw).decode("latin-1")
        for raw in _NAME.findall(chunk)
    }


class InflationLimit(ValueError):
    """The object streams of a PDF inflate past what any honest evidence file needs."""


def _inflate(data: bytes, budget: list[int]) -> bytes:
    try:
        inflated = zlib.decompressobj().decompress(data, budget[0] + 1)
    except zlib.error:
        return b""  # not Flate, or broken: pypdf reads it, or the file is refused
    budget[0] -= len(inflated)
    if budget[0] < 0:
        raise InflationLimit()
    return inflated


def names_in_bytes(data: bytes) -> set[str]:
    """Every name outside stream data, and inside object streams (which hold whole objects).
    Other streams are skipped: their compressed bytes would match names by chance."""
    found: set[str] = set()
    position, budget = 0, [MAX_INFLATED]  # for all object streams together: no zip bombs
    for start in _STREAM.finditer(data):
        if start.start() < position:
            continue  # inside the data of a stream already passed over
        head = data[position : start.start()]
        found |= _names(head)
        end = data.find(b"endstream", start.end())
        end = len(data) if end < 0 else end
        if "/ObjStm" in _names(head[head.rfind(b"obj") :]):
            found |= _names(_inflate(data[start.end() : end], budget))
        position = end + len(b"endstream")
    return found | _names(data[position:])


def names_in_objects(data: bytes) -> set[str]:
    """Every name (key or value) of every object pypdf finds; raises when it cannot read them."""
    from pypdf import PdfReader
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted and not reader.decrypt(""):
        raise ValueError("encrypted with a password")
    if len(reader.pages) == 0:
        raise ValueError("no pages")
    pending: list[Any] = [reader.trailer]
    for generation, numbers in reader.xref.items():
        pending += [IndirectObject(number, generation, reader) for number in numbers]
    pending += [IndirectObject(number, 0, reader) for number in reader.xref_objStm]
    found: set[str] = set()
    seen: set[tuple[int, int]] = set()
    while pending:
        item = pending.pop()
        if isinstance(item, IndirectObject):
            if (item.idnum, item.generation) in seen:
                continue
            seen.add((item.idnum, item.generation))
            item = item.get_object()
        if isinstance(item, NameObject):
            found.add(str(item))
        elif isinstance(item, DictionaryObject):  # streams too: their dictionaries, not data
            found.update(str(key) for key in item)
            pending.extend(dict.values(item))
        elif isinstance(item, ArrayObject):
            pending.extend(list.__iter__(item))
    return found


def check_pdf(data: bytes) -> None:
    try:
        raw_names = names_in_bytes(data)
    except InflationLimit:
        raise _invalid(PDF_UNREADABLE) from None
    if raw_names & FORBIDDEN_PDF_NAMES:
        raise _invalid(PDF_ACTIVE)
    try:
        names = names_in_objects(data)
    except Exception:  # pypdf fails in many ways on hostile input; each means "unreadable"
        raise _invalid(PDF_UNREADABLE) from None
    if names & FORBIDDEN_PDF_NAMES:
        raise _invalid(PDF_ACTIVE)


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
