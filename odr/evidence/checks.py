"""What an evidence upload may be, judged by its bytes, never by its name or declared type.

A PDF, a PNG, JPEG, WebP or HEIC photo, or plain UTF-8 text, at most 10 MB; a short MP4 or
QuickTime video, at most 25 MB and 3 minutes; at most 50 MB for a dispute. A PDF is inspected by
`odr.evidence.pdf_inspection` in a child process bounded in CPU time, wall time and memory
(`check_pdf`, which a partner agency's outcome document goes through too): one that would act by
itself or reach outside the document (JavaScript, actions other than a link, embedded files, rich
media, XFA forms), that cannot be read, or that costs too much to read is refused, naming the
field. Photos and videos go through `odr.evidence.media` in a bounded child too (`check_media`): a
HEIC must decode, a video's boxes must fit together and hold their own data; each photo gets a
small WebP thumbnail, made there once. Names shown and sent are cleaned here too.

An upload never passes through memory whole: it is copied a chunk at a time into a temporary file
of its own (hashed and measured on the way, and refused as soon as it is too large), judged from
its first bytes and, for text, a chunk at a time; the bounded child reads it there by name, and
storage takes it from there as a stream.
"""

from __future__ import annotations

import codecs
import io
import logging
import math
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from flask_babel import lazy_gettext as _l

from odr import bounded
from odr.cases.models import Evidence
from odr.errors import ValidationError
from odr.evidence import media, pdf_inspection
from odr.storage import sha256_of
from odr.storage.addressing import CHUNK, copy_hashed

log = logging.getLogger(__name__)

MB = 1024 * 1024
MAX_FILE_SIZE = 10 * MB
HEAD = 64 * 1024  # what the type is judged from (text aside)
MAX_VIDEO_SIZE = 25 * MB
MAX_VIDEO_SECONDS = 180
MAX_CASE_SIZE = 50 * MB
MAX_CAPTION = 200
MAX_BATCH_FILES = 20
# What a request carrying one file may weigh: the file and the multipart envelope around it.
MAX_UPLOAD_REQUEST = MAX_FILE_SIZE + 64 * 1024
MAX_EVIDENCE_REQUEST = MAX_VIDEO_SIZE + 64 * 1024  # one file of any type, with a caption
MAX_BATCH_REQUEST = MAX_CASE_SIZE + 256 * 1024  # several files, and their captions
MAX_FILENAME = 120
EXTENSIONS = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/webp": (".webp",),
    "image/heic": (".heic", ".heif"),
    "video/mp4": (".mp4", ".m4v"),
    "video/quicktime": (".mov",),
    "text/plain": (".txt",),
}
PICTURES = frozenset({"image/png", "image/jpeg", "image/webp", "image/heic"})
VIDEOS = frozenset({"video/mp4", "video/quicktime"})
SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)

NO_FILE = _l("Choose a file to upload.")
EMPTY = _l("The file is empty.")
TOO_LARGE = _l("A file may be at most %(size)s.", size="10 MB")
VIDEO_TOO_LARGE = _l("A video may be at most %(size)s.", size="25 MB")
UNSUPPORTED = _l(
    "This type of file is not accepted. Upload a PDF, a photo (PNG, JPEG, WebP or HEIC), "
    "a short video (MP4 or MOV) or plain text (UTF-8)."
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
PHOTO_UNREADABLE = _l(
    "This photo could not be read: it may be damaged or of a kind we cannot open. "
    "Save it as JPEG and upload that."
)
PHOTO_TOO_LARGE = _l(
    "This photo has too many pixels to check (at most %(count)s million). "
    "Save a smaller copy and upload that.",
    count=media.MAX_PIXELS // 1_000_000,
)
PHOTO_TOO_COSTLY = _l(
    "This photo is too large or too complex to check. Save it as JPEG and upload that."
)
VIDEO_BROKEN = _l(
    "This video could not be read: it is damaged or incomplete. "
    "Export it again as MP4 and upload that."
)
VIDEO_EXTERNAL = _l(
    "This video refers to other files or addresses instead of holding its own pictures, "
    "which is not accepted. Export it again as one MP4 file and upload that."
)
VIDEO_NO_PICTURE = _l(
    "This file holds no video picture (it may be sound only). "
    "Upload a video, a photo, a PDF or plain text."
)
VIDEO_LENGTH_UNKNOWN = _l(
    "The length of this video could not be read. Export it again as MP4 and upload that."
)
MEDIA_REFUSALS = {
    "unreadable": PHOTO_UNREADABLE,
    "too_many_pixels": PHOTO_TOO_LARGE,
    "broken": VIDEO_BROKEN,
    "external": VIDEO_EXTERNAL,
    "no_video": VIDEO_NO_PICTURE,
    "length_unknown": VIDEO_LENGTH_UNKNOWN,
}
CAPTION_TOO_LONG = _l("A caption may be at most %(count)s characters.", count=MAX_CAPTION)
TOO_MANY_FILES = _l("Choose at most %(count)s files at a time.", count=MAX_BATCH_FILES)
BATCH_TOO_LARGE = _l(
    "The files chosen add up to more than %(size)s. Upload them in smaller groups.", size="50 MB"
)


class EvidenceTooLarge(ValidationError):
    status = 413

    def __init__(self, message: Any = TOO_LARGE) -> None:
        super().__init__({"file": message})


@dataclass(frozen=True)
class CheckedFile:
    """An upload that passed `check_upload`: what `fire` records once the bytes are stored."""

    filename: str
    media_type: str
    size: int
    sha256: str
    thumbnail: bytes | None = field(default=None, repr=False, compare=False)
    thumbnail_sha256: str | None = None
    caption: str | None = None
    spool: IO[bytes] | None = field(default=None, repr=False, compare=False)  # the bytes checked

    def discard(self) -> None:
        """Remove the checked copy (once stored, or when the upload goes no further)."""
        if self.spool is not None:
            self.spool.close()


@dataclass(frozen=True)
class Upload:
    """One file as it came: its name and bytes or stream (None when none was chosen), its
    caption."""

    filename: str | None
    data: bytes | IO[bytes] | None
    caption: str | None = None


@dataclass(frozen=True)
class RefusedFile:
    filename: str
    reason: Any
    status: int


@dataclass
class Batch:
    """What became of the files chosen together: those added, and those refused with why."""

    added: list[Evidence] = field(default_factory=list)
    refused: list[RefusedFile] = field(default_factory=list)


def invalid_file(message: Any) -> ValidationError:
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


def _text_type(text_file: IO[bytes], head: bytes) -> str:
    """Plain UTF-8 text, read a chunk at a time; what would be taken for markup or a script, or
    holds control characters, is refused."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    text_file.seek(0)
    start, first = "", True
    while True:
        chunk = text_file.read(CHUNK)
        if first:
            chunk, first = chunk.removeprefix(codecs.BOM_UTF8), False
        try:
            text = decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError:
            raise invalid_file(UNSUPPORTED if b"\x00" in head[:8192] else NOT_UTF8) from None
        if "\x00" in text:
            raise invalid_file(UNSUPPORTED)
        if _CONTROL.search(text):
            raise invalid_file(NOT_PLAIN)
        if len(start) < 64:
            start = (start + text).lstrip()[:64]
        if not chunk:
            break
    if start.startswith("#!") or _MARKUP.match(start[:64]):
        raise invalid_file(NOT_PLAIN)
    return "text/plain"


def media_type_of(head: bytes, whole: IO[bytes]) -> str:
    """The type of the file, from its content alone (`head`, its first bytes, and for text all
    of it); anything not accepted is refused."""
    for signature, media_type in SIGNATURES:
        if head.startswith(signature):
            return media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        media_type = media.container_type(head)
        if media_type is None:
            raise invalid_file(UNSUPPORTED)
        return media_type
    return _text_type(whole, head)


def clean_caption(raw: str | None) -> str | None:
    """One line of text without control characters, or None; CAPTION_TOO_LONG past 200."""
    text = " ".join(unicodedata.normalize("NFC", raw or "").split())
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("C")).strip()
    if len(text) > MAX_CAPTION:
        raise ValidationError({"caption": CAPTION_TOO_LONG})
    return text or None


def read_then(job: Any, source: bytes | str, *args: Any) -> Any:
    """`job` on the bytes, read first if `source` names a file: run in the bounded child, so a
    large upload is read there, not in the process that serves."""
    data = Path(source).read_bytes() if isinstance(source, str) else source
    return job(data, *args)


def check_pdf(source: bytes | str, field: str = "file") -> None:
    """Refuse the PDF (its bytes, or the name of the file holding them), naming `field`, unless
    `pdf_inspection` accepts it. The inspection runs in a child process (a forkserver child:
    20-30 ms more) limited to `SECONDS` of CPU and wall time and `MEMORY_MB` of address space: a
    file that needs more is refused as too costly."""
    try:
        verdict = bounded.run_bounded(
            read_then,
            pdf_inspection.inspect_pdf,
            source,
            seconds=pdf_inspection.SECONDS,
            memory_mb=pdf_inspection.MEMORY_MB,
        )
    except bounded.OutOfBounds as stopped:
        verdict = "too_costly"
        log.warning("PDF inspection stopped (%s, exit code %s)", stopped.bound, stopped.exit_code)
    if verdict != "accepted":
        log.info("PDF refused: %s", verdict)
        raise ValidationError({field: PDF_REFUSALS[verdict]})


def check_media(source: bytes | str, media_type: str) -> bytes | None:
    """Refuse a photo or video (its bytes, or the name of the file holding them) that
    `media.inspect_media` does not accept, or a video that is too long; return the photo's
    thumbnail, if one could be made. The inspection runs in a bounded child, as for a PDF: a
    HEIC that needs more is refused, a PNG, JPEG or WebP only goes without a thumbnail."""
    try:
        verdict = bounded.run_bounded(
            read_then,
            media.inspect_media,
            source,
            media_type,
            seconds=media.SECONDS,
            memory_mb=media.MEMORY_MB,
        )
    except bounded.OutOfBounds as stopped:
        log.warning(
            "%s inspection stopped (%s, exit code %s)", media_type, stopped.bound, stopped.exit_code
        )
        if media_type == "image/heic":
            raise invalid_file(PHOTO_TOO_COSTLY) from None
        if media_type in VIDEOS:
            raise invalid_file(VIDEO_BROKEN) from None
        return None  # a PNG, JPEG or WebP goes without a thumbnail
    if verdict.verdict != "accepted":
        log.info("%s refused: %s", media_type, verdict.verdict)
        raise invalid_file(MEDIA_REFUSALS[verdict.verdict])
    if verdict.seconds is not None and verdict.seconds > MAX_VIDEO_SECONDS:
        raise invalid_file(
            _l(
                "A video may be at most %(limit)s minutes long; this one is %(length)s. "
                "Trim it and upload it again.",
                limit=MAX_VIDEO_SECONDS // 60,
                length=_minutes(verdict.seconds),
            )
        )
    return verdict.thumbnail


def _minutes(seconds: float) -> str:
    whole = math.ceil(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def _is_video(head: bytes) -> bool:
    return head[4:8] == b"ftyp" and media.container_type(head[:4096]) in VIDEOS


def _spool(source: IO[bytes]) -> tuple[IO[bytes], int, str, bytes]:
    """The upload copied a chunk at a time into a temporary file of its own: the copy, its
    size, its SHA-256 and its first bytes. Stops as soon as it is larger than any file may be."""
    spool = tempfile.NamedTemporaryFile(prefix="odr-upload-")  # noqa: SIM115 (kept past here)
    try:
        sha256, size = copy_hashed(source, spool, limit=MAX_VIDEO_SIZE)
        spool.flush()
        spool.seek(0)
        head = spool.read(HEAD)
    except BaseException:
        spool.close()
        raise
    return spool, size, sha256, head


def check_upload(
    filename: str | None, source: bytes | IO[bytes] | None, caption: str | None = None
) -> CheckedFile:
    """Size, type by content, and for a PDF, a photo or a video its safety; the caption's
    length; ValidationError naming `file` (or `caption`). The file checked goes with the
    answer (`CheckedFile.spool`), to be stored from there and then discarded."""
    if source is None:
        raise invalid_file(NO_FILE)
    spool, size, sha256, head = _spool(io.BytesIO(source) if isinstance(source, bytes) else source)
    try:
        if not size:
            raise invalid_file(EMPTY)
        video = _is_video(head)
        if size > (MAX_VIDEO_SIZE if video else MAX_FILE_SIZE):
            raise EvidenceTooLarge(VIDEO_TOO_LARGE if video else TOO_LARGE)
        caption = clean_caption(caption)
        media_type = media_type_of(head, spool)
        thumbnail = None
        if media_type == "application/pdf":
            check_pdf(spool.name)
        elif media_type in PICTURES or media_type in VIDEOS:
            thumbnail = check_media(spool.name, media_type)
    except BaseException:
        spool.close()
        raise
    return CheckedFile(
        display_filename(filename),
        media_type,
        size,
        sha256,
        thumbnail=thumbnail,
        thumbnail_sha256=sha256_of(thumbnail) if thumbnail else None,
        caption=caption,
        spool=spool,
    )
