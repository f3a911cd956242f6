"""Events too large to send inline reach the visitor as a reference (``event.ref``).

An event whose JSON is larger than ``WebSettings.event_inline_max_bytes`` is sent, live
and in ``sync`` replies, as ``{"conversation_id", "seq", "type": "event.ref",
"created_at", "ref_type", "size", "url"}``; the client fetches ``url`` with the
visitor's credentials (``presentation.visitor_api``) and handles what it gets as if it
had come inline. The ``seq`` is the event's own, so gap detection and ``after_seq``
work unchanged. One huge message then costs the socket a packet of a few hundred bytes
instead of holding up everything queued behind it (``presentation.output_bound``
counts packets, not bytes).

What the common path pays: a live event's size is first bounded from above without
encoding it (``_size_bound``: each character of a string is at most 12 bytes of JSON,
an astral one written as two ``\\uXXXX``), a walk over the event's few fields, and only
an event whose bound passes the limit is encoded to learn its exact size; with the
defaults (64 KiB, texts of at most 4,000 characters) no ordinary message ever is. With
orjson installed (``presentation.packet_json``) every event is measured exactly
instead: orjson encodes one in about a fifth of the walk's time (1.1 against 5.7 µs
here). ``sync``
replies measure every event anyway for their byte budget, and that measure is reused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

from business.events import ConversationEvent
from presentation import packet_json
from presentation.packet_json import encoded_size
from presentation.wire import Json, as_is, event_to_wire

logger = logging.getLogger(__name__)

EVENT_REF: Final = "event.ref"
VISITOR_API_PREFIX: Final = "/visitor-api/v1"
EVENT_ROUTE: Final = VISITOR_API_PREFIX + "/conversations/{conversation_id}/events/{seq}"
"""The aiohttp route of one event, the target of every reference."""

_BYTES_PER_CHAR: Final = 12
_BYTES_PER_SCALAR: Final = 32
"""Enough for any number, ``true``, ``false`` or ``null`` and the comma after it."""


def event_url(conversation_id: str, seq: int) -> str:
    """The path (on the engine's origin) an event's reference points to."""
    return f"{VISITOR_API_PREFIX}/conversations/{quote(conversation_id, safe='')}/events/{seq}"


def ref_to_wire(event: ConversationEvent, wire: Json, size: int) -> Json:
    """The reference to ``event``, whose JSON ``wire`` is ``size`` bytes."""
    return {
        "conversation_id": event.conversation_id,
        "seq": event.seq,
        "type": EVENT_REF,
        "created_at": wire["created_at"],
        "ref_type": wire["type"],
        "size": size,
        "url": event_url(event.conversation_id, event.seq),
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class EventRefs:
    """Decides, event by event, between the event itself and its reference."""

    inline_max_bytes: int
    attachment_url: Callable[[str], str] = as_is
    """Signs the engine's files for the visitor (``business.file_links``)."""

    def live(self, event: ConversationEvent) -> Json:
        """What to emit for ``event``: itself, or its reference if it is too large."""
        wire = event_to_wire(event, self.attachment_url)
        if packet_json.orjson is None and _size_bound(wire) <= self.inline_max_bytes:
            return wire
        size = encoded_size(wire)
        if size <= self.inline_max_bytes:
            return wire
        logger.debug(
            "event %d of conversation %s (%d bytes) goes as a reference",
            event.seq,
            event.conversation_id,
            size,
        )
        return ref_to_wire(event, wire, size)

    def sync_reply(
        self, events: Sequence[ConversationEvent], max_bytes: int
    ) -> tuple[list[Json], bool]:
        """As many of ``events``, in order, as fit in ``max_bytes`` of JSON array (each
        too large one as its reference), and whether any were left out. The first always
        goes, however large, so a client always progresses."""
        items: list[Json] = []
        total = 2  # the brackets
        for event in events:
            item = event_to_wire(event, self.attachment_url)
            size = encoded_size(item)
            if size > self.inline_max_bytes:
                item = ref_to_wire(event, item, size)
                size = encoded_size(item)
            added = size + (1 if items else 0)  # and a comma
            if items and total + added > max_bytes:
                return items, True
            items.append(item)
            total += added
        return items, False


def _size_bound(value: object) -> int:
    """At least ``encoded_size(value)``, for the JSON values ``event_to_wire`` makes."""
    if isinstance(value, str):
        return _BYTES_PER_CHAR * len(value) + 3  # the quotes and a separator
    # Containers: the brackets and a separator.
    if isinstance(value, dict):
        return 3 + sum(_size_bound(key) + _size_bound(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return 3 + sum(_size_bound(item) for item in value)
    return _BYTES_PER_SCALAR
