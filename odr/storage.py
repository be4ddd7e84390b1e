"""Where files live: bytes stored by their SHA-256, behind a small interface.

`LocalStorage` keeps them under `STORAGE_DIR` (outside the web root) at `ab/cd/<sha256>`. A file is
written to a temporary name beside its place and moved there with `os.replace`, so a reader never
sees half a file. Content addressing makes writes idempotent, and a write whose transaction later
rolls back leaves only an unreferenced file behind.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from flask import current_app

_SHA256 = re.compile(r"[0-9a-f]{64}")


class Storage(Protocol):
    def put(self, data: bytes) -> str:
        """Store the bytes; return their SHA-256 (hex)."""

    def read(self, sha256: str) -> bytes:
        """The stored bytes, as found (the caller verifies them); FileNotFoundError if none."""

    def exists(self, sha256: str) -> bool: ...


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LocalStorage:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise ValueError("not a SHA-256 in hex")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        sha256 = sha256_of(data)
        path = self.path_for(sha256)
        if path.exists() and sha256_of(path.read_bytes()) == sha256:
            return sha256
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".upload-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)  # also replaces a damaged copy with the good bytes
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return sha256

    def read(self, sha256: str) -> bytes:
        return self.path_for(sha256).read_bytes()

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()


def get_storage() -> Storage:
    """The application's storage: one set in `app.extensions["odr.storage"]`, or the local one."""
    configured = current_app.extensions.get("odr.storage")
    if configured is not None:
        return configured
    return LocalStorage(current_app.config["STORAGE_DIR"])
