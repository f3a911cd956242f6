"""The JSON of the visitor edge's Socket.IO packets: orjson's encoder where installed.

python-socketio encodes every packet it sends (events, acks) with ``json.dumps``: about
2.5 % of the event loop under load, and with the column bind of the stored payloads the
largest single cost left in the engine's own path. orjson (``pip install
'chat-engine[speed]'``) writes the same JSON in a tenth of the time, compact as
python-socketio asks, and leaves characters beyond ASCII as UTF-8 where the json module
writes ``\\u`` escapes: the same values to any JSON parser, fewer bytes. What orjson
refuses (a lone surrogate in a string, an integer beyond 64 bits, a key that is not a
string) is written by the json module as before. Incoming packets are read as
python-engineio reads them (its ``loads`` refuses absurdly long integers).

``encoded_size`` measures with the same encoder, so the event references' byte limit
(``presentation.event_refs``) is what goes on the wire.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

from engineio import json as engineio_json

orjson: ModuleType | None
try:
    import orjson
except ImportError:  # optional: the `speed` extra
    orjson = None


def dumps(value: Any, **_options: Any) -> str:
    """Compact JSON text of ``value`` (python-socketio's ``separators`` are orjson's)."""
    if orjson is not None:
        try:
            text: str = orjson.dumps(value).decode()
        except TypeError:
            pass  # see the module docstring
        else:
            return text
    return json.dumps(value, separators=(",", ":"))


def encoded_size(value: Any) -> int:
    """Bytes of ``value`` as a packet carries it."""
    return len(dumps(value).encode())


class PacketJson:
    """The ``json`` of ``presentation.socketio_server.TextPacket``."""

    dumps = staticmethod(dumps)
    loads = staticmethod(engineio_json.loads)
