"""Storage in the tests: a real S3 endpoint (moto's standalone server, started once per test
process on a free port), a bucket per app, and reaching past the app into either backend to
damage, remove or list stored files."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

from odr.storage import LocalStorage, S3Storage, get_storage
from odr.storage.s3 import s3_client

# Credentials for the local endpoint only: the tests never reach a real AWS account.
os.environ.update(
    AWS_ACCESS_KEY_ID="odr-tests",
    AWS_SECRET_ACCESS_KEY="odr-tests",
    AWS_DEFAULT_REGION="us-east-1",
)
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
    os.environ.pop(_name, None)

_server: dict[str, object] = {}


def s3_endpoint() -> str:
    """The URL of this test process's S3 server, started on first use."""
    if "url" not in _server:
        from tests.conftest import free_port

        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    raise RuntimeError(f"moto's S3 server did not answer on {url}") from None
                time.sleep(0.05)
        _server.update(url=url, process=process)
    return _server["url"]


def stop_s3_server() -> None:
    process = _server.pop("process", None)
    _server.pop("url", None)
    if process is not None:
        process.terminate()
        process.wait(timeout=10)


def new_bucket() -> str:
    """An empty bucket of its own on the test endpoint."""
    name = f"odr-{uuid.uuid4().hex[:16]}"
    s3_client(s3_endpoint()).create_bucket(Bucket=name)
    return name


def s3_settings() -> dict[str, str]:
    """The app's settings for files in a new bucket of the test endpoint."""
    return {"STORAGE_URL": f"s3://{new_bucket()}/files", "S3_ENDPOINT_URL": s3_endpoint()}


# ---- reaching past the app -----------------------------------------------------------------------


def _storage(app) -> LocalStorage | S3Storage:
    with app.app_context():
        return get_storage()


def overwrite_stored(app, sha256: str, data: bytes) -> None:
    """Put other bytes where the file of `sha256` is stored, as damage or an attacker would."""
    storage = _storage(app)
    if isinstance(storage, S3Storage):
        storage.client.put_object(Bucket=storage.bucket, Key=storage.key_for(sha256), Body=data)
    else:
        storage.path_for(sha256).write_bytes(data)


def is_stored(app, sha256: str) -> bool:
    return _storage(app).exists(sha256)


def stored_bytes(app, sha256: str) -> bytes:
    with _storage(app).open(sha256) as handle:
        return handle.read()


def delete_stored(app, sha256: str) -> None:
    storage = _storage(app)
    if isinstance(storage, S3Storage):
        storage.client.delete_object(Bucket=storage.bucket, Key=storage.key_for(sha256))
    else:
        storage.path_for(sha256).unlink()


def stored_names(app) -> list[str]:
    """Every file in the app's storage, temporary ones included, by its name under the root."""
    storage = _storage(app)
    if isinstance(storage, S3Storage):
        pages = storage.client.get_paginator("list_objects_v2").paginate(
            Bucket=storage.bucket, Prefix=f"{storage.prefix}/" if storage.prefix else ""
        )
        keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
        return sorted(key.removeprefix(f"{storage.prefix}/") for key in keys)
    root = Path(storage.root)
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())
