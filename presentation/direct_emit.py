"""Emits without a task per recipient.

python-socketio's ``AsyncManager.emit`` encodes a packet once, then starts a task per
recipient to hand it to python-engineio and waits for them all with ``asyncio.wait``:
two more turns of the event loop, a task, a future and a set for every event sent, and
the visitor edge sends one or two events per message to one socket. Handing a packet to
python-engineio (``AsyncSocket.send``) only puts it on the socket's unbounded queue, so
it never waits on the client; ``DirectEmit`` does it in the emitting coroutine, one
recipient after the other. A recipient whose send fails is logged and the others are
still sent to (with tasks, the failure went to an unretrieved task).

Emits with a callback (the engine makes none) keep python-socketio's own path.
"""

from __future__ import annotations

import logging
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet

logger = logging.getLogger(__name__)


class DirectEmit(socketio.AsyncManager):  # type: ignore[misc]
    """``AsyncManager`` whose ``emit`` sends in the emitting coroutine."""

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        if callback is not None:
            await super().emit(
                event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, to=to
            )
            return
        room = to or room
        if namespace not in self.rooms:
            return
        # The arguments as python-socketio reads them: a tuple is several.
        if isinstance(data, tuple):
            arguments = list(data)
        elif data is not None:
            arguments = [data]
        else:
            arguments = []
        skipped = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        encoded = self.server.packet_class(
            packet.EVENT, namespace=namespace, data=[event, *arguments]
        ).encode()
        packets = [
            eio_packet.Packet(eio_packet.MESSAGE, part)
            for part in (encoded if isinstance(encoded, list) else [encoded])
        ]
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid in skipped:
                continue
            try:
                for eio_pkt in packets:
                    await self.server._send_eio_packet(eio_sid, eio_pkt)
            except Exception:
                logger.exception("could not send %r to socket %s", event, sid)
