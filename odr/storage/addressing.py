"""Where a file goes by its SHA-256, and the hash taken while it is copied.

Both backends store a file at `ab/cd/<sha256>` (under a folder, or under a key prefix) and learn
the SHA-256 of what they are given while writing it, a chunk at a time, so that no file has to be
held in memory whole.
"""

from __future__ import annotations

import hashlib
import re
from typing import IO

CHUNK = 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def relative_key(sha256: str) -> str:
    """`ab/cd/<sha256>`; ValueError for anything but a SHA-256 in lower-case hex."""
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise ValueError("not a SHA-256 in hex")
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


def copy_hashed(source: IO[bytes], target: IO[bytes], limit: int | None = None) -> tuple[str, int]:
    """Copy `source` to `target` a chunk at a time; the SHA-256 and the size of what was copied.
    With `limit`, the copy stops at the first chunk that takes it past `limit` bytes (so a size
    over `limit` says the source is larger, not how large)."""
    digest = hashlib.sha256()
    size = 0
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        target.write(chunk)
        size += len(chunk)
        if limit is not None and size > limit:
            break
    return digest.hexdigest(), size
