"""The default blob store: a local directory (``business.file_ports.BlobStore``).

One file per key, written to a temporary name and renamed, so a reader never sees half a
file. Readable by the engine's user only: the files are visitors' and agents' documents.
Keys are the engine's file ids (32 hex digits); anything else is refused rather than
turned into a path.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

_KEY_RE = re.compile(r"[0-9a-f]{32}")


def check_blob_key(key: str) -> str:
    """``key`` if it is an engine file id; ``ValueError`` otherwise. Every store refuses
    the same keys, so that none turns input into a path or an object name."""
    if _KEY_RE.fullmatch(key) is None:
        raise ValueError(f"not a blob key: {key!r}")
    return key


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self._root = root

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._write, self._path(key), data)

    async def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(path.unlink, missing_ok=True)

    def _path(self, key: str) -> Path:
        check_blob_key(key)
        # Two levels of fan-out keep any one directory small.
        return self._root / key[:2] / key

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        tmp.replace(path)
