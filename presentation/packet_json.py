"""The JSON of the visitor edge's Socket.IO packets: orjson's encoder where installed.

python-socketio encodes every packet it sends (events, acks) with ``json.dumps``: about
2.5 % of the event loop under load, and with the column bind of the stored payloads the
largest single cost left in the engine's own path. orjson (``pip install
'chat-engine[speed]'``) writes the same JSON in a tenth of the time, compact as
python-socketio asks.

Characters beyond ASCII go as UTF-8, not as ``\\u`` escapes, whichever encoder writes:
the same values to any JSON parser, fewer bytes, and the same size from both, so the
byte limits of event references and sync replies (``encoded_size``) hold whichever
wrote the packet. A lone surrogate, which UTF-8 cannot carry, goes as its escape.

What orjson refuses or would write differently goes through the json module as before:
a lone surrogate, an integer beyond 64 bits, a key that is not a string, and (passed
through to it, so a mistake still fails loudly) datetimes, dataclasses and subclasses
of str, int, dict and list. Two differences remain, for values the wire never carries:
orjson writes a plain ``Enum`` as its value and NaN or infinity as ``null``, where the
json module raises or writes ``NaN``.

Incoming packets are read as python-engineio reads them, integers of more than 100
digits refused, by one ``JSONDecoder`` made once: python-engineio's ``loads`` passes
``parse_int``, and the json module then makes a new decoder for every packet (half
the time of reading one). orjson would read them faster but not the same: it reads an
integer beyond 64 bits as a float and refuses NaN and lone surrogates.
"""

from __future__ import annotations

import json
import re
from types import ModuleType
from typing import Any

from engineio import json as engineio_json

orjson: ModuleType | None
try:
    import orjson
except ImportError:  # optional: the `speed` extra
    orjson = None

_PASSTHROUGH = (
    0
    if orjson is None
    else orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _escaped(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def dumps(value: Any, **_options: Any) -> str:
    """Compact JSON text of ``value`` (python-socketio's ``separators`` are orjson's)."""
    if orjson is not None:
        try:
            text: str = orjson.dumps(value, option=_PASSTHROUGH).decode()
        except TypeError:
            pass  # see the module docstring
        else:
            return text
    # A lone surrogate can only be in a string, where its escape is what it means.
    return _LONE_SURROGATE.sub(
        _escaped, json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    )


def encoded_size(value: Any) -> int:
    """Bytes of ``value`` as a packet carries it."""
    if orjson is not None:
        try:
            return len(orjson.dumps(value, option=_PASSTHROUGH))
        except TypeError:
            pass
    return len(dumps(value).encode())


MAX_INT_DIGITS = 100
"""What python-engineio's ``loads`` allows an integer (its sign included)."""


def _bounded_int(text: str) -> int:
    if len(text) > MAX_INT_DIGITS:
        raise ValueError("Integer is too large")
    return int(text)


_DECODER = json.JSONDecoder(parse_int=_bounded_int)


def loads(text: str | bytes | bytearray, **options: Any) -> Any:
    """The value of a packet's JSON text, as python-engineio's ``loads`` reads it."""
    if options or not isinstance(text, str) or text.startswith("\ufeff"):
        # Bytes, options, or a byte order mark (which json.loads refuses by name).
        return engineio_json.loads(text, **options)
    return _DECODER.decode(text)


class PacketJson:
    """The ``json`` of ``presentation.socketio_server.TextPacket``."""

    dumps = staticmethod(dumps)
    loads = staticmethod(loads)
