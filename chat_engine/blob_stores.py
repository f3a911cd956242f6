"""The blob store ``[files] store`` names: the local directory, or an S3-compatible
object store (``data.s3_blob_store``, imported only then: botocore is the optional
``chat-engine[s3]``)."""

from __future__ import annotations

from pathlib import Path

from business.file_ports import BlobStore
from business.file_settings import FileSettings
from chat_engine.settings import SettingsError
from data.blob_store import LocalBlobStore


class BlobStoreUnavailableError(SettingsError):
    """The configured store cannot be made (its library is not installed)."""


def open_blob_store(settings: FileSettings) -> BlobStore:
    if settings.store == "local":
        return LocalBlobStore(Path(settings.dir))
    try:
        from data.s3_blob_store import S3BlobStore, S3Location
    except ImportError as error:
        raise BlobStoreUnavailableError(
            f'files.store = "s3" needs botocore: pip install "chat-engine[s3]" ({error})'
        ) from None
    assert settings.s3_bucket is not None  # FileSettings refuses s3 without a bucket
    return S3BlobStore(
        S3Location(
            bucket=settings.s3_bucket,
            prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
        )
    )


async def close_blob_store(store: BlobStore) -> None:
    """Release what the store holds (the S3 client's connections); the local one holds
    nothing."""
    close = getattr(store, "close", None)
    if close is not None:
        await close()
