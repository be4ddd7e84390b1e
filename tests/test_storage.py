"""The storage interface, held to one contract by both backends (a local folder, and S3 through a
real moto server on a local port) whatever the database; large files pass through memory in
chunks on the way in and on the way out."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from odr.cases.models import Case, Evidence
from odr.extensions import db
from odr.storage import (
    LocalStorage,
    S3Storage,
    StoredFileDamaged,
    checked_copy,
    get_storage,
    storage_from_config,
)
from tests.factories import Dispute
from tests.storage_helpers import new_bucket, s3_endpoint

MB = 1024 * 1024
HELLO = hashlib.sha256(b"hello").hexdigest()


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path) -> LocalStorage | S3Storage:
    if request.param == "local":
        return LocalStorage(tmp_path / "files")
    return S3Storage(new_bucket(), "odr/files", s3_endpoint())


def stored_keys(storage: LocalStorage | S3Storage) -> list[str]:
    """Everything the backend holds, temporary files included."""
    if isinstance(storage, LocalStorage):
        files = [path for path in storage.root.rglob("*") if path.is_file()]
        return sorted(str(path.relative_to(storage.root)) for path in files)
    listed = storage.client.list_objects_v2(Bucket=storage.bucket)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def read_back(storage: LocalStorage | S3Storage, sha256: str) -> bytes:
    with storage.open(sha256) as handle:
        return handle.read()


def large_file(path: Path, size: int) -> tuple[Path, str]:
    """A file of `size` random bytes written a megabyte at a time, and its SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as handle:
        for _ in range(size // MB):
            chunk = os.urandom(MB)
            digest.update(chunk)
            handle.write(chunk)
    return path, digest.hexdigest()


def hash_of_stream(handle) -> str:
    digest = hashlib.sha256()
    while chunk := handle.read(MB):
        digest.update(chunk)
    return digest.hexdigest()


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(field)


def peak_memory_growth(work: Callable[[], object]) -> int:
    """How far the resident memory of this process peaked above where it stood while `work` ran,
    in bytes. Writing 5 to /proc/self/clear_refs sets the peak (VmHWM) to the current RSS."""
    Path("/proc/self/clear_refs").write_text("5")
    before = _status_kb("VmRSS")
    work()
    return (_status_kb("VmHWM") - before) * 1024


# ---- the contract --------------------------------------------------------------------------------


def test_a_file_is_stored_under_its_sha256_and_read_back(storage):
    assert storage.put(b"hello") == HELLO
    assert storage.exists(HELLO) and storage.size(HELLO) == 5
    assert read_back(storage, HELLO) == b"hello"


def test_storing_the_same_bytes_again_keeps_one_file_and_no_temporary_ones(storage):
    assert storage.put(b"hello") == HELLO
    assert storage.put(b"hello") == HELLO
    assert storage.put_stream(io.BytesIO(b"hello")) == HELLO
    key = f"{HELLO[:2]}/{HELLO[2:4]}/{HELLO}"
    prefix = "" if isinstance(storage, LocalStorage) else "odr/files/"
    assert stored_keys(storage) == [prefix + key]


def test_put_stream_hashes_what_it_reads_to_the_end(storage):
    data = os.urandom(3 * MB + 17)  # several chunks and a bit
    sha256 = storage.put_stream(io.BytesIO(data))
    assert sha256 == hashlib.sha256(data).hexdigest()
    assert storage.size(sha256) == len(data) and read_back(storage, sha256) == data


def test_open_gives_a_stream_read_in_chunks(storage):
    data = b"".join(bytes([n]) * 1000 for n in range(256))
    sha256 = storage.put(data)
    with storage.open(sha256) as handle:
        assert handle.read(1000) == b"\x00" * 1000
        assert handle.read() == data[1000:]


def test_a_missing_file_is_file_not_found(storage):
    assert not storage.exists(HELLO)
    with pytest.raises(FileNotFoundError):
        storage.open(HELLO)
    with pytest.raises(FileNotFoundError):
        storage.size(HELLO)


def test_only_a_sha256_in_lower_case_hex_names_a_file(storage):
    for bad in ("../../etc/passwd", HELLO.upper(), HELLO[:-1], HELLO + "0"):
        with pytest.raises(ValueError):
            storage.exists(bad)
        with pytest.raises(ValueError):
            storage.open(bad)


def damage(storage: LocalStorage | S3Storage, sha256: str, data: bytes) -> None:
    if isinstance(storage, LocalStorage):
        storage.path_for(sha256).write_bytes(data)
    else:
        storage.client.put_object(Bucket=storage.bucket, Key=storage.key_for(sha256), Body=data)


@pytest.mark.parametrize("damaged", [b"rot", b"repairab1e\n"], ids=["shorter", "same size"])
def test_storing_the_bytes_again_repairs_a_damaged_copy(storage, damaged):
    sha256 = storage.put(b"repairable\n")
    damage(storage, sha256, damaged)
    storage.put(b"repairable\n")
    assert read_back(storage, sha256) == b"repairable\n"


def test_s3_uploads_nothing_for_bytes_it_already_holds():
    storage = S3Storage(new_bucket(), "files", s3_endpoint())
    uploads = []

    def count(**_kwargs) -> None:
        uploads.append(1)

    events = storage.client.meta.events
    for operation in ("PutObject", "CreateMultipartUpload"):
        events.register(f"before-call.s3.{operation}", count, unique_id=f"count-{operation}")
    try:
        storage.put(b"once\n")
        storage.put(b"once\n")
        storage.put_stream(io.BytesIO(b"once\n"))
    finally:
        for operation in ("PutObject", "CreateMultipartUpload"):
            events.unregister(f"before-call.s3.{operation}", unique_id=f"count-{operation}")
    assert uploads == [1]


def test_a_checked_copy_is_refused_when_the_bytes_changed_or_went(storage, app, monkeypatch):
    sha256 = storage.put(b"checked\n")
    monkeypatch.setitem(app.extensions, "odr.storage", storage)
    with app.app_context():
        with checked_copy(sha256) as copy:
            assert copy.read() == b"checked\n"
        damage(storage, sha256, b"changed")
        with pytest.raises(StoredFileDamaged):
            checked_copy(sha256)
        with pytest.raises(FileNotFoundError):
            checked_copy(HELLO)


def test_the_backend_follows_the_settings(tmp_path):
    local = storage_from_config({"STORAGE_URL": "", "STORAGE_DIR": str(tmp_path)})
    assert isinstance(local, LocalStorage) and local.root == tmp_path
    s3 = storage_from_config(
        {"STORAGE_URL": "s3://odr-files/prod/v1/", "S3_ENDPOINT_URL": "http://127.0.0.1:9"}
    )
    assert isinstance(s3, S3Storage)
    assert (s3.bucket, s3.prefix, s3.endpoint_url) == ("odr-files", "prod/v1", "http://127.0.0.1:9")
    assert s3.key_for(HELLO) == f"prod/v1/{HELLO[:2]}/{HELLO[2:4]}/{HELLO}"
    for bad in ("odr-files", "s3://", "s3://UPPER/x", "https://odr-files/x", "s3://b/x?y=1"):
        with pytest.raises(ValueError, match="ODR_STORAGE_URL"):
            storage_from_config({"STORAGE_URL": bad, "STORAGE_DIR": str(tmp_path)})


def test_one_s3_client_serves_the_process():
    endpoint = s3_endpoint()
    first = S3Storage(new_bucket(), "", endpoint)
    second = S3Storage(new_bucket(), "x", endpoint)
    assert first.client is second.client


# ---- large files ---------------------------------------------------------------------------------


def test_a_30_mb_file_goes_into_storage_without_passing_through_memory_whole(storage, tmp_path):
    path, sha256 = large_file(tmp_path / "large.bin", 30 * MB)
    storage.put_stream(io.BytesIO(os.urandom(9 * MB)))  # clients, modules and threads warmed up

    def store() -> None:
        with path.open("rb") as handle:
            assert storage.put_stream(handle) == sha256

    growth = peak_memory_growth(store)
    assert growth < 12 * MB, f"storing 30 MB grew the process by {growth / MB:.1f} MB"
    assert storage.size(sha256) == 30 * MB
    with storage.open(sha256) as handle:
        assert hash_of_stream(handle) == sha256
    if isinstance(storage, S3Storage):  # uploaded in parts: the ETag of a multipart upload
        head = storage.client.head_object(Bucket=storage.bucket, Key=storage.key_for(sha256))
        assert head["ETag"].strip('"').endswith("-4")  # 30 MB in parts of 8 MB


def test_a_large_download_is_streamed_not_buffered(app, api, tmp_path):
    """A 30 MB evidence file, put in storage and recorded directly (uploads stop at 25 MB), is
    checked against its hash and sent in chunks: the response is streamed and the process does
    not hold the file."""
    dispute = Dispute(app, api)
    path, sha256 = large_file(tmp_path / "large.txt", 30 * MB)
    with app.app_context():
        with path.open("rb") as handle:
            get_storage().put_stream(handle)
        case = db.session.scalars(sa.select(Case).where(Case.public_id == dispute.id)).one()
        evidence = Evidence(
            case_id=case.id,
            uploader_id=dispute.users["claimant"].id,
            uploader_role="claimant",
            filename="large.txt",
            media_type="text/plain",
            size=30 * MB,
            sha256=sha256,
        )
        db.session.add(evidence)
        db.session.commit()
        url = f"/api/v1/disputes/{dispute.id}/evidence/{evidence.public_id}"
    claimant = dispute.clients["claimant"]

    def download() -> None:
        response = claimant.client.get(url, headers=claimant._headers(None), buffered=False)
        assert response.status_code == 200 and response.is_streamed
        assert response.headers["Content-Length"] == str(30 * MB)
        digest = hashlib.sha256()
        for chunk in response.response:
            digest.update(chunk)
        response.close()
        assert digest.hexdigest() == sha256

    growth = peak_memory_growth(download)
    assert growth < 12 * MB, f"sending 30 MB grew the process by {growth / MB:.1f} MB"
