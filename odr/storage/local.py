"""Files in a local folder (`STORAGE_DIR`, outside the web root): the embedded default.

A file is written to a temporary name in the folder while it is hashed, then moved to
`ab/cd/<sha256>` with `os.replace`, so a reader never sees half a file. Writing the same bytes again
replaces a damaged copy with the good one.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import IO

from odr.storage.addressing import copy_hashed, relative_key


class LocalStorage:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        return self.root / relative_key(sha256)

    def put(self, data: bytes) -> str:
        return self.put_stream(io.BytesIO(data))

    def put_stream(self, fileobj: IO[bytes]) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".upload-", dir=self.root)
        try:
            with os.fdopen(fd, "wb") as handle:
                sha256, _size = copy_hashed(fileobj, handle)
                handle.flush()
                os.fsync(handle.fileno())
            path = self.path_for(sha256)
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return sha256

    def open(self, sha256: str) -> IO[bytes]:
        return self.path_for(sha256).open("rb")

    def size(self, sha256: str) -> int:
        return self.path_for(sha256).stat().st_size

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def ready(self) -> None:
        """Raise unless the folder exists (or can be made) and this process may write to it."""
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise PermissionError(f"cannot write to {self.root}")
