"""A real S3-compatible server for the tests: moto's, in a thread of the test process,
on a free loopback port (no network beyond 127.0.0.1)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import botocore.session
import pytest
from moto.server import ThreadedMotoServer

from data.s3_blob_store import S3Location

ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key-never-logged"


@dataclass(frozen=True, slots=True)
class S3Server:
    endpoint_url: str

    def new_bucket(self) -> S3Location:
        """A fresh, empty bucket on this server, and where the store finds it."""
        bucket = f"files-{uuid.uuid4().hex[:12]}"
        client = botocore.session.get_session().create_client(
            "s3",
            region_name="us-east-1",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )
        try:
            client.create_bucket(Bucket=bucket)
        finally:
            client.close()
        return S3Location(
            bucket=bucket,
            prefix="chat/",
            endpoint_url=self.endpoint_url,
            region="us-east-1",
            access_key_id=ACCESS_KEY,
            secret_access_key=SECRET_KEY,
        )


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield S3Server(endpoint_url=f"http://{host}:{port}")
    finally:
        server.stop()
