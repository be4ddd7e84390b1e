"""The evidence file of a dispute: recording checked uploads and reading them back.

An upload is first checked by its bytes (`odr.evidence.checks`). The bytes (and the thumbnail's)
are stored by their SHA-256 before the transaction; `fire` then records the evidence in the
case's event log. A download is refused when the stored bytes are missing or no longer match
their hash; otherwise the checked copy is streamed to the reader, never held in memory whole.

A person may add several files in one go (`add_evidence_batch`): each is checked and recorded on
its own, so the good ones are added and each refused one comes back with its reason. A file may
carry a caption of at most 200 characters, shown with it (it is not written to the event log).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import IO, Any

import sqlalchemy as sa
from babel.lists import format_list
from flask import Response
from flask_babel import get_locale, gettext, ngettext
from flask_babel import lazy_gettext as _l

from odr.accounts.models import User
from odr.cases.firing import fire, refuse_unless_allowed
from odr.cases.guards import GuardContext
from odr.cases.hooks import effect, parameters
from odr.cases.models import Case, Evidence
from odr.cases.reading import find_case, load_users
from odr.delivery.notices import tell_parties, tell_user
from odr.errors import Conflict, NotFound, ValidationError
from odr.evidence.checks import (
    DUPLICATE,
    MAX_CASE_SIZE,
    MB,
    NO_FILE,
    Batch,
    CheckedFile,
    RefusedFile,
    Upload,
    check_upload,
    content_disposition,
    display_filename,
    download_name,
    invalid_file,
)
from odr.extensions import db
from odr.storage import StoredFileDamaged, checked_copy, get_storage, streamed
from odr.workflow import Transition

log = logging.getLogger(__name__)


class DamagedEvidence(Conflict):
    """The stored bytes are missing or no longer match the SHA-256 recorded at upload."""


# ---- recording -----------------------------------------------------------------------------------


def _ensure_room(case_id: int, file: CheckedFile) -> None:
    used, duplicates = db.session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(Evidence.size), 0),
            sa.func.coalesce(sa.func.sum(sa.case((Evidence.sha256 == file.sha256, 1), else_=0)), 0),
        ).where(Evidence.case_id == case_id)
    ).one()
    if duplicates:
        raise invalid_file(DUPLICATE)
    if used + file.size > MAX_CASE_SIZE:
        left = f"{max(MAX_CASE_SIZE - used, 0) / MB:.1f} MB"
        raise invalid_file(
            _l(
                "The evidence of a dispute may add up to at most %(total)s; %(left)s remain.",
                total="50 MB",
                left=left,
            )
        )


def add_evidence(
    case: Case,
    actor: User,
    filename: str | None,
    data: bytes | IO[bytes] | None,
    caption: str | None = None,
) -> Evidence:
    """Check the upload (its bytes, or a stream of them), store it (and its thumbnail), then
    record it through `fire`.

    The bytes are written before the transaction: storage is content-addressed, so a record that
    is then refused or rolled back leaves at most an unreferenced file behind.
    """
    refuse_unless_allowed(case, "add_evidence", actor)
    file = check_upload(filename, data, caption)
    try:
        _ensure_room(case.id, file)
        store_checked_file(file)
    finally:
        file.discard()
    fire(case, "add_evidence", actor, file=file)
    return db.session.scalars(
        sa.select(Evidence).where(Evidence.case_id == case.id, Evidence.sha256 == file.sha256)
    ).one()


def store_checked_file(file: CheckedFile, data: bytes | None = None) -> CheckedFile:
    """Write a checked file, and its thumbnail, to storage under their SHA-256: the one way an
    uploaded file is stored (evidence, and a partner agency's outcome document). The file is
    streamed from the copy `check_upload` made, or written from `data` when the caller holds the
    bytes; either way what is stored must hash as checked."""
    storage = get_storage()
    if file.spool is not None:
        file.spool.seek(0)
        stored = storage.put_stream(file.spool)
    else:
        stored = storage.put(data)
    if stored != file.sha256:
        raise RuntimeError("the file stored is not the file checked")
    if file.thumbnail is not None:
        storage.put(file.thumbnail)
    return file


def add_evidence_batch(case: Case, actor: User, uploads: Iterable[Upload]) -> Batch:
    """Add each file on its own: the good ones are recorded, each refused one is named with its
    reason. `uploads` is read one file at a time. Conflict when the dispute takes no evidence."""
    refuse_unless_allowed(case, "add_evidence", actor)
    batch = Batch()
    for upload in uploads:
        try:
            batch.added.append(
                add_evidence(case, actor, upload.filename, upload.data, upload.caption)
            )
        except ValidationError as error:
            reason = error.errors.get("file") or error.errors.get("caption") or NO_FILE
            batch.refused.append(
                RefusedFile(display_filename(upload.filename), reason, error.status)
            )
    if not batch.added and not batch.refused:
        raise invalid_file(NO_FILE)
    return batch


def uploads_from_form(files: list[Any], form: Any) -> Iterator[Upload]:
    """The chosen files of the page's form, read one at a time, each with its caption: one
    `file_caption` per file when the page's script gave each its own, else the one `caption`
    for all of them (without JavaScript)."""
    own = form.getlist("file_caption")
    shared = form.get("caption")
    for index, upload in enumerate(files):
        caption = own[index] if len(own) == len(files) else shared
        yield Upload(upload.filename, upload.stream, caption)


def added_message(added: list[Evidence]) -> str:
    if len(added) == 1:
        return gettext("%(name)s was added to the evidence.", name=added[0].filename)
    names = format_list([item.filename for item in added], locale=str(get_locale() or "en"))
    return ngettext(
        "%(num)d file was added to the evidence: %(names)s.",
        "%(num)d files were added to the evidence: %(names)s.",
        len(added),
        names=names,
    )


def refused_message(refused: list[RefusedFile]) -> str:
    return ngettext("%(num)d file was not added.", "%(num)d files were not added.", len(refused))


@parameters("add_evidence")
def _check_file(params: dict[str, Any]) -> dict[str, Any]:
    file = params.get("file")
    storage = get_storage()
    if not isinstance(file, CheckedFile) or not storage.exists(file.sha256):
        raise invalid_file(NO_FILE)
    if file.thumbnail_sha256 is not None and not storage.exists(file.thumbnail_sha256):
        raise invalid_file(NO_FILE)
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
        caption=file.caption,
        thumbnail_sha256=file.thumbnail_sha256,
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


def _find_evidence(user: Any, public_id: str, evidence_id: str) -> tuple[Case, Evidence]:
    case = find_case(user, public_id)
    evidence = db.session.scalar(
        sa.select(Evidence).where(Evidence.case_id == case.id, Evidence.public_id == evidence_id)
    )
    if evidence is None:
        raise NotFound()
    return case, evidence


def _stored(case: Case, evidence: Evidence, sha256: str, user: Any, what: str) -> IO[bytes]:
    try:
        return checked_copy(sha256)
    except (FileNotFoundError, StoredFileDamaged) as error:
        log.warning(
            "evidence %s of %s: the stored %s %s; download by user %s refused",
            evidence.public_id,
            case.reference,
            what,
            "is missing" if isinstance(error, FileNotFoundError) else "does not match its SHA-256",
            getattr(user, "id", None),
        )
        raise DamagedEvidence("damaged") from None


def read_evidence(user: Any, public_id: str, evidence_id: str) -> tuple[Evidence, IO[bytes]]:
    """The evidence and a checked copy of its bytes (`attachment` sends and closes it), for
    whoever may see the case, once the bytes match their hash."""
    case, evidence = _find_evidence(user, public_id, evidence_id)
    return evidence, _stored(case, evidence, evidence.sha256, user, "file")


def read_thumbnail(user: Any, public_id: str, evidence_id: str) -> tuple[Evidence, IO[bytes]]:
    """A photo's thumbnail, for whoever may read the photo; NotFound when it has none."""
    case, evidence = _find_evidence(user, public_id, evidence_id)
    if evidence.thumbnail_sha256 is None:
        raise NotFound()
    return evidence, _stored(case, evidence, evidence.thumbnail_sha256, user, "thumbnail")


def evidence_to_api(evidence: Evidence, uploader: User | None, url: str) -> dict[str, Any]:
    return {
        "id": evidence.public_id,
        "filename": evidence.filename,
        "caption": evidence.caption,
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


def attachment(evidence: Evidence, data: IO[bytes]) -> Response:
    """The file as a download that no browser renders, sniffs or lets run anything."""
    response = streamed(data, evidence.media_type)  # text/plain gets charset=utf-8
    response.headers["Content-Disposition"] = content_disposition(download_name(evidence))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["ETag"] = f'"{evidence.sha256}"'
    return response


def thumbnail_image(evidence: Evidence, data: IO[bytes]) -> Response:
    """The thumbnail, shown in the page (a WebP we made ourselves), never sniffed or cached."""
    response = streamed(data, "image/webp")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["ETag"] = f'"{evidence.thumbnail_sha256}"'
    return response
