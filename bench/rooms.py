"""Disconnecting N visitor sockets: python-socketio's manager against ``RoomIndex``.

    .venv/bin/python -m bench.rooms [--visitors 1000,10000]

Each socket holds the rooms a visitor's socket holds in the engine (its own, its
visitor's, its conversation's). For each N, both managers are filled the same way, then
every socket is disconnected one after the other (what a drain or a stop does); printed:
the time per disconnect and for all of them, the plain manager first (the baseline), in
the same run. In memory only; bounded at 20,000 sockets.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import socketio

from presentation.room_index import IndexedAsyncManager
from presentation.visitor_namespace import NAMESPACE, conversation_room, visitor_room

MAX_VISITORS = 20_000


def _filled(manager: Any, visitors: int) -> list[str]:
    sids = []
    for n in range(visitors):
        sid = f"sid-{n}"
        manager.basic_enter_room(sid, NAMESPACE, None, eio_sid=f"eio-{n}")
        manager.basic_enter_room(sid, NAMESPACE, sid)
        manager.basic_enter_room(sid, NAMESPACE, visitor_room(f"v{n}"))
        manager.basic_enter_room(sid, NAMESPACE, conversation_room(f"c{n}"))
        sids.append(sid)
    return sids


def disconnect_all(manager: Any, visitors: int) -> float:
    """Seconds to disconnect every socket of a manager holding ``visitors`` of them."""
    sids = _filled(manager, visitors)
    started = time.perf_counter()
    for sid in sids:
        manager.pre_disconnect(sid, NAMESPACE)
        manager.basic_disconnect(sid, NAMESPACE)
    elapsed = time.perf_counter() - started
    assert NAMESPACE not in manager.rooms, "sockets left behind"
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visitors", default="1000,10000")
    args = parser.parse_args()
    for visitors in (min(int(v), MAX_VISITORS) for v in args.visitors.split(",")):
        plain = disconnect_all(socketio.AsyncManager(), visitors)
        indexed = disconnect_all(IndexedAsyncManager(), visitors)
        print(
            f"{visitors:>6} sockets: python-socketio {plain:8.3f} s "
            f"({plain / visitors * 1e6:7.1f} µs each), RoomIndex {indexed:6.3f} s "
            f"({indexed / visitors * 1e6:5.1f} µs each), {plain / indexed:6.0f}x"
        )


if __name__ == "__main__":
    main()
