"""Random ids, drawn from the operating system's generator a few thousand bytes at a time.

``uuid.uuid4().hex`` asks the kernel for 16 bytes on every call (a ``getrandom`` system
call) and then builds a ``UUID`` object only to format it; on the message path every
message takes a new id, and under load the system calls showed up as about 3 % of the
event loop (``bench.roundtrip --profile``). Here a thread draws ``_BATCH`` ids' worth of
bytes from ``os.urandom`` at once and formats each id from its slice: the same
cryptographic source, so ids stay as unguessable as before, and the same shape, a
version-4 UUID in 32 lower-case hex digits.

Each thread has a pool of its own (a ``threading.local``), and a forked child starts
with a fresh one: two processes or threads never hand out the same bytes.
"""

from __future__ import annotations

import os
import threading

_BATCH = 256
"""Ids per draw from ``os.urandom`` (4 KiB)."""
_ID_BYTES = 16

_CLEAR = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
_SET = (0x8000 << 48) | (4 << 76)
"""The bits ``uuid.UUID(..., version=4)`` sets: the RFC 4122 variant and version 4."""


class _Pool(threading.local):
    def __init__(self) -> None:
        self.data = b""
        self.at = 0


_pool = _Pool()


def _fresh_pool() -> None:
    global _pool
    _pool = _Pool()


os.register_at_fork(after_in_child=_fresh_pool)


def random_hex_id() -> str:
    """A new random version-4 UUID as 32 lower-case hex digits (``uuid4().hex``)."""
    pool = _pool
    at = pool.at
    if at >= len(pool.data):
        pool.data = os.urandom(_ID_BYTES * _BATCH)
        at = 0
    pool.at = at + _ID_BYTES
    value = int.from_bytes(pool.data[at : at + _ID_BYTES], "big")
    return f"{value & _CLEAR | _SET:032x}"
