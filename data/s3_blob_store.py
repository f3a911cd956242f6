"""A blob store in an S3-compatible object store (``business.file_ports.BlobStore``):
what several engines behind a load balancer share, so that a file one of them stored can
be served by any other.

botocore's client is blocking and thread-safe: each call runs in a worker thread, like
``data.blob_store.LocalBlobStore``'s file I/O. One object per key, named
``<prefix><key>``; keys are checked as the local store checks them, so neither store
turns anything but an engine file id into a name. Objects are written whole (S3 has no
half-written objects), and nothing in them is public: the engine serves them only through
its signed links.

botocore is an optional dependency (``pip install chat-engine[s3]``): this module is
imported only when ``[files] store = "s3"``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

from data.blob_store import check_blob_key

logger = logging.getLogger(__name__)

_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


@dataclass(frozen=True, slots=True, kw_only=True)
class S3Location:
    bucket: str
    prefix: str = ""
    """Prepended to every key, e.g. ``chat/files/``: one bucket may hold other things."""
    endpoint_url: str | None = None
    """None: AWS itself; else the S3-compatible server (MinIO, Ceph, Garage, ...)."""
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    """None for both: botocore's own lookup (``AWS_*`` environment, instance role)."""
    timeout_seconds: float = 30.0


class S3BlobStore:
    def __init__(self, location: S3Location) -> None:
        self._bucket = location.bucket
        self._prefix = location.prefix
        session = botocore.session.get_session()
        self._client: Any = session.create_client(
            "s3",
            region_name=location.region,
            endpoint_url=location.endpoint_url,
            aws_access_key_id=location.access_key_id,
            aws_secret_access_key=location.secret_access_key,
            config=Config(
                connect_timeout=location.timeout_seconds,
                read_timeout=location.timeout_seconds,
                retries={"max_attempts": 3, "mode": "standard"},
                # Path-style: what S3-compatible servers on a plain host name understand.
                s3={"addressing_style": "path"},
            ),
        )

    async def put(self, key: str, data: bytes) -> None:
        name = self._name(key)
        await asyncio.to_thread(self._client.put_object, Bucket=self._bucket, Key=name, Body=data)

    async def get(self, key: str) -> bytes | None:
        name = self._name(key)
        return await asyncio.to_thread(self._read, name)

    async def delete(self, key: str) -> None:
        # S3 answers a delete of a missing object with success: nothing to check.
        name = self._name(key)
        await asyncio.to_thread(self._client.delete_object, Bucket=self._bucket, Key=name)

    async def close(self) -> None:
        await asyncio.to_thread(self._client.close)

    def _name(self, key: str) -> str:
        return self._prefix + check_blob_key(key)

    def _read(self, name: str) -> bytes | None:
        try:
            answer = self._client.get_object(Bucket=self._bucket, Key=name)
        except ClientError as error:
            if str(error.response.get("Error", {}).get("Code")) in _MISSING:
                return None
            raise
        body = answer["Body"]
        try:
            data: bytes = body.read()
        finally:
            body.close()
        return data
