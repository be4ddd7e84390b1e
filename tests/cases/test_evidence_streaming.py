"""An upload goes from the request to storage a chunk at a time, never whole in memory."""

from __future__ import annotations

import hashlib
import io
import tracemalloc

import pytest

from odr.evidence import checks
from odr.evidence.services import store_checked_file
from odr.storage import get_storage

MB = 1024 * 1024


class TextStream(io.RawIOBase):
    """`size` bytes of plain text made as they are read, so that the test holds no copy either;
    counts what was read and refuses a read of everything at once."""

    def __init__(self, size: int) -> None:
        self.size, self.given = size, 0
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        assert n is not None and n > 0, "the upload was asked for all of it at once"
        n = min(n, self.size - self.given)
        line = b"Order 4471 arrived broken; the seller did not answer.\n"
        chunk = (line * (n // len(line) + 1))[:n]
        self.given += n
        self.digest.update(chunk)
        return chunk


def test_an_upload_is_checked_and_stored_a_chunk_at_a_time(app):
    upload = TextStream(9 * MB)
    with app.app_context():
        tracemalloc.start()
        try:
            file = checks.check_upload("statement.txt", upload)
            store_checked_file(file)
            _now, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            file.discard()
        assert peak < 4 * MB, f"{peak / MB:.1f} MB held at once for a 9 MB upload"
        assert (file.media_type, file.size) == ("text/plain", 9 * MB)
        assert file.sha256 == upload.digest.hexdigest()
        with get_storage().open(file.sha256) as stored:
            assert hashlib.sha256(stored.read()).hexdigest() == file.sha256


def test_a_file_too_large_is_refused_without_reading_it_to_the_end():
    upload = TextStream(200 * MB)
    with pytest.raises(checks.EvidenceTooLarge) as refused:
        checks.check_upload("huge.txt", upload)
    assert refused.value.errors["file"] == checks.TOO_LARGE
    assert upload.given <= checks.MAX_VIDEO_SIZE + checks.CHUNK


def test_text_is_judged_across_chunks():
    # A character cut by a chunk's end is still UTF-8; a control character deep inside is found.
    good = ("é" * (checks.CHUNK // 2 + 1)).encode()
    assert checks.check_upload("accents.txt", good).media_type == "text/plain"
    bad = b"a" * (checks.CHUNK + 10) + b"\x07" + b"b" * 10
    with pytest.raises(checks.ValidationError) as refused:
        checks.check_upload("bell.txt", bad)
    assert refused.value.errors["file"] == checks.NOT_PLAIN
    broken = b"a" * (checks.CHUNK + 10) + b"\xff\xfe" + b"b" * 10
    with pytest.raises(checks.ValidationError) as refused:
        checks.check_upload("latin1.txt", broken)
    assert refused.value.errors["file"] == checks.NOT_UTF8
