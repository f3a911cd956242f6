"""``[files] store``: local by default, S3 when asked, with every mistake refused at
start-up naming the key, and the S3 secret readable from a file and never shown."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from chat_engine.blob_stores import BlobStoreUnavailableError, open_blob_store
from chat_engine.settings import SettingsError, load_settings
from data.blob_store import LocalBlobStore

S3 = {"files.store": "s3", "files.s3_bucket": "chat-files"}


def test_the_local_directory_is_the_default(tmp_path: Path) -> None:
    settings = load_settings(None, {"CHAT_ENGINE_FILES_DIR": str(tmp_path)})
    assert isinstance(open_blob_store(settings.files), LocalBlobStore)


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"files.store": "ftp"}, "files.store: must be one of local, s3"),
        ({"files.store": "s3"}, 'files.s3_bucket: must name the bucket when store = "s3"'),
        ({**S3, "files.s3_access_key_id": "AKIA"}, "files.s3_access_key_id: give it with"),
        ({**S3, "files.s3_endpoint_url": "minio:9000"}, "files.s3_endpoint_url: must be an"),
        ({"files.purge_interval_seconds": 0}, "files.purge_interval_seconds: must be a positive"),
    ],
)
def test_a_bad_value_is_refused_naming_the_key(overrides: dict[str, object], words: str) -> None:
    with pytest.raises(SettingsError, match="^" + words.replace("(", r"\(")):
        load_settings(None, {}, overrides)


def test_the_secret_comes_from_a_file_and_is_never_shown(tmp_path: Path) -> None:
    secret = tmp_path / "s3-secret"
    secret.write_text("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
    settings = load_settings(
        None,
        {
            "CHAT_ENGINE_FILES_STORE": "s3",
            "CHAT_ENGINE_FILES_S3_BUCKET": "chat-files",
            "CHAT_ENGINE_FILES_S3_ACCESS_KEY_ID": "AKIAEXAMPLE",
            "CHAT_ENGINE_FILES_S3_SECRET_ACCESS_KEY_FILE": str(secret),
        },
    )
    assert settings.files.s3_secret_access_key == "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    assert "wJalrXUtnFEMI" not in repr(settings)


def test_s3_without_botocore_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "data.s3_blob_store", None)  # as if not installed
    settings = load_settings(None, {}, S3)
    with pytest.raises(BlobStoreUnavailableError, match=r"chat-engine\[s3\]"):
        open_blob_store(settings.files)
