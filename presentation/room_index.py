"""Socket.IO managers that know each socket's rooms, so a disconnect costs its own rooms.

python-socketio's ``BaseManager`` keeps ``rooms[namespace][room] = {sid: eio_sid}`` and
nothing from a socket to its rooms: ``basic_disconnect`` copies the namespace's whole
room table and looks through every room for the socket, and ``get_rooms`` does the same.
Every visitor holds three rooms here (its socket's, its visitor's, its conversation's),
so with 10,000 visitors connected one disconnect walked some 30,000 rooms (milliseconds
of the event loop), and disconnecting them all, as a stop or a drain does, took time
quadratic in their number (more than 30 s).

``RoomIndex`` keeps ``sid -> rooms`` beside python-socketio's table, updated by the only
three methods that change it (enter, leave, disconnect; closing a room leaves it member
by member), and answers ``basic_disconnect`` and ``get_rooms`` from it. The room table
itself is untouched, so emits, ``get_participants`` and the Redis manager's code read
what they always did.
"""

from __future__ import annotations

from typing import Any

from presentation.direct_emit import DirectEmit


class RoomIndex:
    """Mixin for a ``socketio`` manager (before it in the bases): ``sid -> rooms``."""

    rooms: dict[str, dict[Any, Any]]
    callbacks: dict[str, Any]
    pending_connect: dict[str, list[str]]
    pending_disconnect: dict[str, list[str]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rooms_of: dict[str, dict[str, set[Any]]] = {}
        """namespace -> sid -> the rooms it is in (``None``, the namespace's, included)."""

    def basic_enter_room(
        self, sid: str, namespace: str, room: Any, eio_sid: str | None = None
    ) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)  # type: ignore[misc]
        self._rooms_of.setdefault(namespace, {}).setdefault(sid, set()).add(room)

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)  # type: ignore[misc]
        of_namespace = self._rooms_of.get(namespace)
        if of_namespace is None:
            return
        rooms = of_namespace.get(sid)
        if rooms is None:
            return
        rooms.discard(room)
        if not rooms:
            del of_namespace[sid]
            if not of_namespace:
                del self._rooms_of[namespace]

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        """As ``BaseManager.basic_disconnect``, leaving only the rooms ``sid`` is in."""
        if namespace not in self.rooms:
            return
        for room in list(self._rooms_of.get(namespace, {}).get(sid, ())):
            self.basic_leave_room(sid, namespace, room)
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            sids = pending.get(namespace)
            if sids is not None and sid in sids:
                sids.remove(sid)
                if not sids:
                    del pending[namespace]

    def get_rooms(self, sid: str, namespace: str) -> list[Any]:
        """The rooms ``sid`` is in, its own included (not the namespace's ``None``)."""
        rooms = self._rooms_of.get(namespace, {}).get(sid, ())
        return [room for room in rooms if room is not None]


class IndexedAsyncManager(RoomIndex, DirectEmit):
    """python-socketio's in-process manager, with ``RoomIndex`` and ``DirectEmit``."""
