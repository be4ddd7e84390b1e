"""Where files live: bytes stored by their SHA-256, behind one small interface.

Every upload and download goes through `get_storage()`: evidence and its thumbnails, a partner
agency's outcome document, the documents we render. Two backends: `LocalStorage`, a folder
(`STORAGE_DIR`, the embedded default), and `S3Storage`, S3-compatible object storage when
`ODR_STORAGE_URL=s3://bucket/prefix` is set, which every app host reaches.

Content addressing makes writes idempotent, and a write whose transaction later rolls back leaves
only an unreferenced file behind. A file is sent only once its bytes are found to match their
SHA-256: `checked_copy` copies it out of storage into a temporary file while hashing it (in memory
up to 1 MB, on disk beyond), so the download can still be refused before its first byte is sent,
and `streamed` sends that copy a chunk at a time.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from typing import IO, Any, Protocol

from flask import Response, current_app

from odr.storage.addressing import copy_hashed, sha256_of
from odr.storage.local import LocalStorage
from odr.storage.s3 import S3Storage

__all__ = [
    "LocalStorage",
    "S3Storage",
    "Storage",
    "StoredFileDamaged",
    "checked_copy",
    "get_storage",
    "sha256_of",
    "storage_from_config",
    "streamed",
]

SPOOL_IN_MEMORY = 1024 * 1024
SEND_CHUNK = 64 * 1024


class Storage(Protocol):
    def put(self, data: bytes) -> str:
        """Store the bytes; return their SHA-256 (hex)."""

    def put_stream(self, fileobj: IO[bytes]) -> str:
        """Store what `fileobj` reads to its end, hashed as it is written; return its SHA-256."""

    def open(self, sha256: str) -> IO[bytes]:
        """The stored bytes as found, to read (the caller verifies them); FileNotFoundError if
        none. Close it when done."""

    def size(self, sha256: str) -> int:
        """The stored file's size in bytes; FileNotFoundError if none."""

    def exists(self, sha256: str) -> bool: ...

    def ready(self) -> None:
        """Raise unless the store answers and this process may write to it."""


class StoredFileDamaged(Exception):
    """The stored bytes no longer match the SHA-256 they are stored under."""


def storage_from_config(config: Mapping[str, Any]) -> Storage:
    """S3 when `STORAGE_URL` is set, else the folder `STORAGE_DIR`."""
    url = (config.get("STORAGE_URL") or "").strip()
    if url:
        return S3Storage.from_url(url, config.get("S3_ENDPOINT_URL") or None)
    return LocalStorage(config["STORAGE_DIR"])


def get_storage() -> Storage:
    """The application's storage: one set in `app.extensions["odr.storage"]`, or the configured."""
    configured = current_app.extensions.get("odr.storage")
    if configured is not None:
        return configured
    return storage_from_config(current_app.config)


def checked_copy(sha256: str) -> IO[bytes]:
    """A copy of the stored file, read from its start, whose bytes match `sha256`.

    FileNotFoundError when storage holds no such file, StoredFileDamaged when its bytes no longer
    match. The caller closes the copy (`streamed` does).
    """
    copy = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 (returned)
    try:
        with get_storage().open(sha256) as source:
            found, _size = copy_hashed(source, copy)
        if found != sha256:
            raise StoredFileDamaged(sha256)
        copy.seek(0)
    except BaseException:
        copy.close()
        raise
    return copy


def streamed(copy: IO[bytes], mimetype: str) -> Response:
    """A response that sends `copy` a chunk at a time and closes it once sent (or abandoned),
    with the Content-Length a response made from the bytes would have."""
    size = copy.seek(0, os.SEEK_END)
    copy.seek(0)

    def chunks() -> Iterator[bytes]:
        while chunk := copy.read(SEND_CHUNK):
            yield chunk

    response = Response(chunks(), mimetype=mimetype, direct_passthrough=True)
    response.content_length = size
    response.call_on_close(copy.close)
    return response
