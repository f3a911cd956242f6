"""The blob stores' contract, the same for each: the local directory and an S3-compatible
object store (moto's real server on loopback). put then get, overwrite, delete (also of
nothing), a missing key, and keys that are not engine file ids refused before any I/O."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import botocore.session
import pytest

from business.file_ports import BlobStore
from data.blob_store import LocalBlobStore
from data.s3_blob_store import S3BlobStore
from tests.s3_server import S3Server, s3_server

__all__ = ["s3_server"]

KEY = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "files")
        return
    server: S3Server = request.getfixturevalue("s3_server")
    s3 = S3BlobStore(server.new_bucket())
    try:
        yield s3
    finally:
        await s3.close()


async def test_put_then_get_returns_the_bytes(store: BlobStore) -> None:
    data = bytes(range(256)) * 100
    await store.put(KEY, data)
    assert await store.get(KEY) == data
    assert await store.get(OTHER) is None


async def test_a_missing_key_is_none(store: BlobStore) -> None:
    assert await store.get(KEY) is None


async def test_put_again_replaces_the_bytes(store: BlobStore) -> None:
    await store.put(KEY, b"first version")
    await store.put(KEY, b"second")
    assert await store.get(KEY) == b"second"


async def test_delete_removes_only_that_key_and_twice_is_no_error(store: BlobStore) -> None:
    await store.put(KEY, b"one")
    await store.put(OTHER, b"two")
    await store.delete(KEY)
    assert await store.get(KEY) is None
    assert await store.get(OTHER) == b"two"
    await store.delete(KEY)
    await store.delete("00000000000000000000000000000000")


BAD_KEYS = ("../etc/passwd", KEY.upper(), "", "a" * 31, KEY + "/x", "chat/" + KEY, KEY + "\n")


async def test_a_key_that_is_not_a_file_id_is_refused(store: BlobStore) -> None:
    for key in BAD_KEYS:
        for call in (store.put(key, b"x"), store.get(key), store.delete(key)):
            with pytest.raises(ValueError, match="not a blob key"):
                await call
    assert await store.get(KEY) is None  # nothing was written under any name


async def test_s3_objects_are_named_with_the_prefix_in_the_configured_bucket(
    s3_server: S3Server,
) -> None:
    location = s3_server.new_bucket()
    store = S3BlobStore(location)
    try:
        await store.put(KEY, b"hello")
    finally:
        await store.close()
    client = botocore.session.get_session().create_client(
        "s3",
        region_name="us-east-1",
        endpoint_url=location.endpoint_url,
        aws_access_key_id=location.access_key_id,
        aws_secret_access_key=location.secret_access_key,
    )
    try:
        listed = client.list_objects_v2(Bucket=location.bucket)
    finally:
        client.close()
    assert [item["Key"] for item in listed["Contents"]] == [f"chat/{KEY}"]


def test_the_secret_key_is_not_in_the_location_repr(s3_server: S3Server) -> None:
    location = s3_server.new_bucket()
    assert location.secret_access_key is not None
    assert location.secret_access_key not in repr(location)
