"""Files in S3-compatible object storage, when `ODR_STORAGE_URL=s3://bucket/prefix` is set.

Every app host reaches the same bucket, so a file uploaded through one host is downloadable
through another. A file is spooled to a temporary file on disk while it is hashed (its key is its
SHA-256, known only at the end), then uploaded from there by boto3's transfer manager: in parts of
8 MB above 8 MB, read from the disk as they are sent, so a large file never sits in memory whole.
Each object carries its SHA-256 in its metadata. Storing bytes that are already there (same key,
same size, our metadata) uploads nothing; a copy of another size, or one written by other means,
is written again, which repairs it.

The endpoint comes from `ODR_S3_ENDPOINT_URL` (empty: AWS itself), the credentials from boto3's
standard chain (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, a profile, an instance role). One
client serves the whole process: boto3 clients are thread-safe, and one is made again after a fork.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import threading
from typing import IO, Any
from urllib.parse import urlsplit

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from odr.storage.addressing import copy_hashed, relative_key

MB = 1024 * 1024
TRANSFER = TransferConfig(multipart_threshold=8 * MB, multipart_chunksize=8 * MB, max_concurrency=4)
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_MISSING = {"NoSuchKey", "404", "NotFound"}

_clients: dict[tuple[int, str | None], Any] = {}
_clients_lock = threading.Lock()


def s3_client(endpoint_url: str | None) -> Any:
    """The process's client for an endpoint, made on first use."""
    key = (os.getpid(), endpoint_url or None)
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                config = Config(
                    connect_timeout=5,
                    retries={"mode": "standard"},
                    # S3-compatible services (MinIO, Ceph, moto) answer on one host name.
                    s3={"addressing_style": "path"} if endpoint_url else None,
                )
                client = boto3.session.Session().client(
                    "s3", endpoint_url=endpoint_url or None, config=config
                )
                _clients[key] = client
    return client


def _missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in _MISSING


class S3Storage:
    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url or None

    @classmethod
    def from_url(cls, url: str, endpoint_url: str | None = None) -> S3Storage:
        """`s3://bucket` or `s3://bucket/prefix`; ValueError naming ODR_STORAGE_URL otherwise."""
        parts = urlsplit(url)
        if parts.scheme != "s3" or not _BUCKET.fullmatch(parts.netloc) or parts.query:
            raise ValueError(
                f"ODR_STORAGE_URL must be s3://bucket or s3://bucket/prefix, not {url!r}"
            )
        return cls(parts.netloc, parts.path, endpoint_url)

    @property
    def client(self) -> Any:
        return s3_client(self.endpoint_url)

    def key_for(self, sha256: str) -> str:
        key = relative_key(sha256)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, data: bytes) -> str:
        return self.put_stream(io.BytesIO(data))

    def put_stream(self, fileobj: IO[bytes]) -> str:
        with tempfile.NamedTemporaryFile(prefix="odr-upload-") as spool:
            sha256, size = copy_hashed(fileobj, spool)
            spool.flush()
            if not self._holds(sha256, size):
                self.client.upload_file(
                    spool.name,
                    self.bucket,
                    self.key_for(sha256),
                    ExtraArgs={"Metadata": {"sha256": sha256}},
                    Config=TRANSFER,
                )
        return sha256

    def open(self, sha256: str) -> IO[bytes]:
        key = self.key_for(sha256)
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        except ClientError as error:
            if _missing(error):
                raise FileNotFoundError(f"s3://{self.bucket}/{key}") from None
            raise

    def size(self, sha256: str) -> int:
        head = self._head(sha256)
        if head is None:
            raise FileNotFoundError(f"s3://{self.bucket}/{self.key_for(sha256)}")
        return head["ContentLength"]

    def exists(self, sha256: str) -> bool:
        return self._head(sha256) is not None

    def ready(self) -> None:
        """Raise unless the bucket answers and these credentials may use it."""
        self.client.head_bucket(Bucket=self.bucket)

    def _holds(self, sha256: str, size: int) -> bool:
        head = self._head(sha256)
        return (
            head is not None
            and head["ContentLength"] == size
            and head.get("Metadata", {}).get("sha256") == sha256
        )

    def _head(self, sha256: str) -> dict[str, Any] | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.key_for(sha256))
        except ClientError as error:
            if _missing(error):
                return None
            raise
