"""``RoomIndex``: the same rooms as python-socketio's own manager, whatever the sequence."""

from __future__ import annotations

from typing import Any

import socketio
from hypothesis import given, settings, strategies as st

from presentation.room_index import IndexedAsyncManager
from presentation.visitor_namespace import NAMESPACE

SIDS = ("s1", "s2", "s3")
ROOMS = ("conversation:a", "conversation:b", "visitor:v")
NAMESPACES = (NAMESPACE, "/other")

operations = st.lists(
    st.one_of(
        st.tuples(st.just("connect"), st.sampled_from(SIDS), st.sampled_from(NAMESPACES)),
        st.tuples(
            st.sampled_from(("enter", "leave")),
            st.sampled_from(SIDS),
            st.sampled_from(NAMESPACES),
            st.sampled_from(ROOMS),
        ),
        st.tuples(st.just("close"), st.sampled_from(NAMESPACES), st.sampled_from(ROOMS)),
        st.tuples(st.just("disconnect"), st.sampled_from(SIDS), st.sampled_from(NAMESPACES)),
    ),
    max_size=40,
)


def _apply(manager: Any, operation: tuple[Any, ...]) -> None:
    kind = operation[0]
    if kind == "connect":
        _, sid, namespace = operation
        if not manager.is_connected(sid, namespace):
            manager.basic_enter_room(sid, namespace, None, eio_sid=f"eio-{sid}-{namespace}")
            manager.basic_enter_room(sid, namespace, sid, eio_sid=f"eio-{sid}-{namespace}")
    elif kind == "enter":
        _, sid, namespace, room = operation
        if manager.is_connected(sid, namespace):
            manager.basic_enter_room(sid, namespace, room)
    elif kind == "leave":
        _, sid, namespace, room = operation
        manager.basic_leave_room(sid, namespace, room)
    elif kind == "close":
        _, namespace, room = operation
        manager.basic_close_room(room, namespace)
    else:
        _, sid, namespace = operation
        manager.pre_disconnect(sid, namespace) if manager.is_connected(sid, namespace) else None
        manager.basic_disconnect(sid, namespace)


def _table(manager: Any) -> dict[str, dict[Any, dict[str, str]]]:
    return {
        namespace: {room: dict(members) for room, members in rooms.items()}
        for namespace, rooms in manager.rooms.items()
    }


@settings(max_examples=300, deadline=None)
@given(operations)
def test_the_index_keeps_the_same_rooms_as_python_socketio(ops: list[tuple[Any, ...]]) -> None:
    plain, indexed = socketio.AsyncManager(), IndexedAsyncManager()
    for operation in ops:
        _apply(plain, operation)
        _apply(indexed, operation)
        assert _table(indexed) == _table(plain)
        for namespace in NAMESPACES:
            for sid in SIDS:
                assert sorted(indexed.get_rooms(sid, namespace)) == sorted(
                    plain.get_rooms(sid, namespace)
                )
            assert indexed.pending_disconnect.get(namespace) == plain.pending_disconnect.get(
                namespace
            )


def test_a_disconnect_leaves_every_room_and_forgets_the_socket() -> None:
    manager = IndexedAsyncManager()
    for sid in ("s1", "s2"):
        manager.basic_enter_room(sid, NAMESPACE, None, eio_sid=f"eio-{sid}")
        manager.basic_enter_room(sid, NAMESPACE, sid)
        manager.basic_enter_room(sid, NAMESPACE, "visitor:v")
    manager.basic_enter_room("s1", NAMESPACE, "conversation:a")

    manager.basic_disconnect("s1", NAMESPACE)

    assert manager.get_rooms("s1", NAMESPACE) == []
    assert set(manager.rooms[NAMESPACE]) == {None, "s2", "visitor:v"}
    assert "s1" not in manager.rooms[NAMESPACE]["visitor:v"]
    assert "s1" not in manager._rooms_of[NAMESPACE]
