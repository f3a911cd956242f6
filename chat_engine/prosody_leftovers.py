"""A Prosody of a base directory whose parent died without stopping it (the engine was
killed with SIGKILL, say), found through its pid file and stopped: it would hold the
ports the next run wants."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from pathlib import Path

logger = logging.getLogger(__name__)

PIDFILE = "prosody.pid"
"""In the base directory; ``ProsodyServer.start`` returns only once it names the server."""


def read_pidfile(base_dir: Path) -> int | None:
    try:
        return int((base_dir / PIDFILE).read_text().strip())
    except (OSError, ValueError):
        return None


def stop_leftover(base_dir: Path) -> bool:
    """Stop the Prosody of ``base_dir`` left over from an earlier run; True if there was
    one."""
    base_dir = base_dir.resolve()
    pid = read_pidfile(base_dir)
    if pid is None:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    if b"-F" not in cmdline or str(base_dir / "prosody.cfg.lua").encode() not in cmdline:
        return False  # the pid was reused by an unrelated process
    logger.warning("stopping a Prosody left over from an earlier run (pid %d)", pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    return True


def _alive(pid: int) -> bool:
    """Running, and not merely a zombie waiting for its parent to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")
