"""Random ids from a pooled draw of the system's random bytes (``business.ids``)."""

from __future__ import annotations

import os
import threading
import uuid

import pytest

from business import ids
from business.ids import random_hex_id
from business.model import new_id


def test_an_id_is_a_version_4_uuid_in_32_lower_case_hex_digits() -> None:
    for _ in range(3 * ids._BATCH):  # across several draws
        value = random_hex_id()
        parsed = uuid.UUID(value)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert parsed.hex == value
        assert len(value) == 32


def test_new_id_draws_random_bytes_once_per_batch_of_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    draws: list[int] = []
    real = os.urandom

    def counted(size: int) -> bytes:
        draws.append(size)
        return real(size)

    monkeypatch.setattr(os, "urandom", counted)
    ids._fresh_pool()
    made = {new_id() for _ in range(2 * ids._BATCH)}
    assert len(made) == 2 * ids._BATCH
    assert draws == [16 * ids._BATCH, 16 * ids._BATCH]


def test_ids_do_not_repeat_across_draws() -> None:
    seen = {random_hex_id() for _ in range(10 * ids._BATCH)}
    assert len(seen) == 10 * ids._BATCH


def test_threads_draw_from_pools_of_their_own(monkeypatch: pytest.MonkeyPatch) -> None:
    draws: list[str] = []
    real = os.urandom

    def counted(size: int) -> bytes:
        draws.append(threading.current_thread().name)
        return real(size)

    monkeypatch.setattr(os, "urandom", counted)
    ids._fresh_pool()
    random_hex_id()  # this thread's pool has ids left...
    per_thread: list[list[str]] = [[] for _ in range(4)]

    def draw(into: list[str]) -> None:
        into.append(random_hex_id())  # one id: a shared pool would have it already
        into.extend(random_hex_id() for _ in range(2 * ids._BATCH))

    threads = [
        threading.Thread(target=draw, args=(into,), name=f"drawer-{n}")
        for n, into in enumerate(per_thread)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # ...yet each thread drew for itself (its first id, and two batches more for the
    # rest, 2 x 256 + 1): no pool, and no position in one, is shared.
    assert sorted(draws) == sorted(
        [threading.current_thread().name] + [f"drawer-{n}" for n in range(4) for _ in range(3)]
    )
    everything = [value for into in per_thread for value in into]
    assert len(set(everything)) == len(everything) == 4 * (2 * ids._BATCH + 1)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    ids._fresh_pool()
    random_hex_id()  # the parent has a pool with ids left in it
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: write its next ids and leave at once
        try:
            os.write(write_end, "".join(random_hex_id() for _ in range(8)).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        child = pipe.read().decode()
    os.waitpid(pid, 0)
    parent = "".join(random_hex_id() for _ in range(8))
    child_ids = {child[i : i + 32] for i in range(0, len(child), 32)}
    assert len(child_ids) == 8
    assert not child_ids & {parent[i : i + 32] for i in range(0, len(parent), 32)}
