"""The visitor edge's Socket.IO packets: JSON only, encoded as python-socketio's own."""

from __future__ import annotations

import json

import socketio
from socketio.packet import ACK, EVENT, Packet

from presentation.packet_json import dumps
from presentation.settings import WebSettings
from presentation.socketio_server import TextPacket, build_server

PAYLOAD = [
    "message",
    {"conversation_id": "c-1", "seq": 7, "text": "héllo <b>", "from": {"kind": "agent"}},
]


def test_the_server_uses_text_packets() -> None:
    server = build_server(WebSettings(), None)
    assert server.packet_class is TextPacket


def test_an_event_and_an_ack_encode_as_the_default_packet_does_in_packet_json() -> None:
    """The same packet, its JSON written by ``presentation.packet_json`` (with orjson
    characters beyond ASCII go as UTF-8, not as escapes): the same values read back."""
    for kind, packet_id in ((EVENT, None), (ACK, 12)):
        ours = TextPacket(kind, data=PAYLOAD, namespace="/visitor", id=packet_id).encode()
        theirs = Packet(kind, data=PAYLOAD, namespace="/visitor", id=packet_id).encode()
        assert isinstance(ours, str)
        head = theirs[: len(theirs) - len(json.dumps(PAYLOAD, separators=(",", ":")))]
        assert ours == head + dumps(PAYLOAD)
        assert Packet(encoded_packet=ours).data == Packet(encoded_packet=theirs).data


def test_an_incoming_event_is_decoded_as_before() -> None:
    wire = Packet(EVENT, data=PAYLOAD, namespace="/visitor", id=3).encode()
    decoded = TextPacket(encoded_packet=wire)
    assert (decoded.packet_type, decoded.namespace, decoded.id, decoded.data) == (
        EVENT,
        "/visitor",
        3,
        PAYLOAD,
    )
    assert decoded.packet_type != socketio.packet.BINARY_EVENT
