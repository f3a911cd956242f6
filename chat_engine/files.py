"""Files the engine generates hold secrets (the component secret, agents' passwords, TLS
keys, Prosody's accounts, conversations): readable by their owner only, whatever the
umask of whoever runs ``chat-engine dev``.

Explicit modes rather than a process umask: a umask is process-wide and would race with
the event loop's threads and reach Prosody, which sets its own.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """``path`` as a directory of ours that only its owner may enter: made, or narrowed
    to that if an earlier version made it open. Not for directories someone else chose
    (``--var-dir``): those are only made private when we make them."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    path.chmod(PRIVATE_DIR)
    return path


def new_private_dir(path: Path) -> Path:
    """``path`` made private if it does not exist yet; an existing one is left as is."""
    with contextlib.suppress(FileExistsError):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=PRIVATE_DIR)
        path.chmod(PRIVATE_DIR)  # mkdir's mode went through the umask
    return path


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``, atomically, readable by the owner only (also when an
    older file was not)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    tmp = path.with_name(f".{path.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    # O_EXCL: a fresh file gets this mode; an existing one would keep its own.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    tmp.replace(path)


def make_private(path: Path) -> None:
    """Narrow an existing file of ours to its owner (made by an older version, say)."""
    with contextlib.suppress(FileNotFoundError):
        path.chmod(PRIVATE_FILE)
