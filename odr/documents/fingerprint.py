"""The SHA-256 of a file someone uploads to check it, taken while it streams in and never kept.

Werkzeug writes each uploaded file into a container its stream factory returns (by default one
in memory, spilling into a temporary file past 500 KB). For a file to check, the container is a
`FileFingerprint`: it hashes each chunk as it arrives and keeps only the first bytes, to tell a
PDF, so the file exists nowhere, not even for the length of the request.
"""

from __future__ import annotations

import hashlib
import io
import re
from typing import Any

from flask_babel import lazy_gettext as _l

from odr.errors import ValidationError

MB = 1024 * 1024
MAX_FILE_SIZE = 10 * MB  # as for evidence: no document we issue comes near it
MAX_REQUEST = MAX_FILE_SIZE + 64 * 1024  # the file and the rest of the form
PDF_MAGIC = b"%PDF-"
_HEAD = 1024  # a PDF's header may sit anywhere in its first 1024 bytes (ISO 32000-1, 7.5.2)
_SHA256 = re.compile(r"[0-9a-f]{64}")

NO_FILE = _l("Choose the PDF file of the document to check.")
NOT_PDF = _l("The file you chose is not a PDF. Choose the PDF file of the document.")
TOO_LARGE = _l(
    "The file you chose is larger than %(size)s, the most a document may be.", size="10 MB"
)
BAD_HASH = _l("We could not read the fingerprint of that file. Please choose it again.")


class FileTooLarge(ValidationError):
    status = 413

    def __init__(self) -> None:
        super().__init__({"document": TOO_LARGE})


class FileFingerprint(io.RawIOBase):
    """A write-only container for an upload: its SHA-256, its size and its first bytes."""

    def __init__(self) -> None:
        super().__init__()
        self._hash = hashlib.sha256()
        self.size = 0
        self.head = b""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._hash.update(chunk)
        self.size += len(chunk)
        if len(self.head) < _HEAD:
            self.head = (self.head + chunk)[:_HEAD]
        return len(chunk)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return 0  # the parser rewinds its container; there is nothing to read back

    def read(self, size: int = -1) -> bytes:
        return b""

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


def fingerprint_stream(*_args: Any, **_kwargs: Any) -> FileFingerprint:
    """A Werkzeug stream factory: every file of the request goes into a FileFingerprint."""
    return FileFingerprint()


def checked_fingerprint(container: Any) -> str:
    """The SHA-256 of an uploaded file, once it is one a document of ours could be.

    ValidationError on the `document` field: no file, not a PDF, or too large.
    """
    if not isinstance(container, FileFingerprint) or container.size == 0:
        raise ValidationError({"document": NO_FILE})
    if container.size > MAX_FILE_SIZE:
        raise FileTooLarge()
    if PDF_MAGIC not in container.head:
        raise ValidationError({"document": NOT_PDF})
    return container.sha256


def checked_hash(value: str) -> str:
    """A SHA-256 the browser took of the file (hex); ValidationError when it is not one."""
    value = value.strip().lower()
    if not _SHA256.fullmatch(value):
        raise ValidationError({"document": BAD_HASH})
    return value
