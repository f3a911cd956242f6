"""Rich messages: quick replies, buttons, a card, a carousel of cards or a list picker
under a message, and the visitor's answer to one.

A message carries at most one ``Rich``, of exactly one kind. It is read from and written
to plain JSON-shaped values (``parse_rich`` / ``rich_to_json``): the same shape is what
the visitor protocol, the REST API, canned responses and storage use, so one set of
rules decides what a rich message may be wherever it comes from.

Every choice the visitor can make (a button with a ``payload``, a list item) has a
payload unique in its message and a number (1, 2, … in the order shown): the payload is
what a client answers with, the number is how an XMPP agent reads the choices in the
text fallback (``business.rich_fallback``). A button with a ``url`` opens the link and is no
choice. Addresses are ``https://`` only: the widget loads images from them on the
visitor's page, and a plain-http or ``javascript:`` link has no business there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias

from business.errors import InvalidInput

MAX_LABEL: Final = 80
MAX_PAYLOAD: Final = 200
MAX_TITLE: Final = 80
MAX_TEXT: Final = 640
MAX_DESCRIPTION: Final = 200
MAX_ALT: Final = 200
MAX_URL: Final = 2000
MAX_QUICK_REPLIES: Final = 13
MAX_BUTTONS: Final = 5
MAX_CARD_BUTTONS: Final = 3
MAX_CARDS: Final = 10
MAX_ITEMS: Final = 30
KINDS: Final = ("quick_replies", "buttons", "card", "carousel", "list_picker")

# Printable text: no control characters (a label is one line), no NUL or lone surrogates
# (no database stores them).
_CONTROL_RE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
_TEXT_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")
_HTTPS_RE = re.compile(r"https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:[/?#][\x21-\x7e]*)?")

JsonValue: TypeAlias = "str | int | float | bool | list[JsonValue] | dict[str, JsonValue] | None"
Json: TypeAlias = "dict[str, JsonValue]"


@dataclass(frozen=True, slots=True, kw_only=True)
class RichButton:
    """A button: a choice (``payload``) or a link (``url``), never both."""

    label: str
    payload: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RichCard:
    title: str
    text: str = ""
    image_url: str | None = None
    image_alt: str = ""
    """What the image shows, for screen readers (the title when empty)."""
    buttons: tuple[RichButton, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RichListItem:
    id: str
    """The item's payload."""
    label: str
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class RichListPicker:
    title: str
    items: tuple[RichListItem, ...]
    multiple: bool = False
    """The visitor may pick several items (and answers with all of them at once)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Rich:
    """Exactly one of the fields is set (``kind`` says which)."""

    quick_replies: tuple[RichButton, ...] = ()
    buttons: tuple[RichButton, ...] = ()
    card: RichCard | None = None
    carousel: tuple[RichCard, ...] = ()
    list_picker: RichListPicker | None = None

    @property
    def kind(self) -> str:
        for kind in KINDS:
            if getattr(self, kind):
                return kind
        raise AssertionError("a Rich value has one kind")  # pragma: no cover

    @property
    def multiple(self) -> bool:
        return self.list_picker is not None and self.list_picker.multiple


@dataclass(frozen=True, slots=True, kw_only=True)
class RichChoice:
    """One thing the visitor may choose: its payload, label and number (from 1)."""

    number: int
    payload: str
    label: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RichReply:
    """A visitor's answer to the rich message with ``seq``: the choices they made."""

    seq: int
    payloads: tuple[str, ...]
    numbers: tuple[int, ...]
    """Each choice's number in the message answered (as its text fallback shows it)."""
    labels: tuple[str, ...]


# --- reading -------------------------------------------------------------------------


def _mapping(value: object, path: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise InvalidInput(f"{path} must be an object")
    return value


def _keys(data: Mapping[str, object], allowed: Sequence[str], path: str) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise InvalidInput(
            f"{path}.{unknown[0]} is not a field of it (allowed: {', '.join(allowed)})"
        )


def _line(data: Mapping[str, object], key: str, path: str, limit: int, *, required: bool) -> str:
    value = data.get(key)
    if value is None:
        if required:
            raise InvalidInput(f"{path}.{key} is required")
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{path}.{key} must be a string")
    pattern = _TEXT_CONTROL_RE if key == "text" else _CONTROL_RE
    if pattern.search(value):
        raise InvalidInput(f"{path}.{key} must not contain control characters")
    if required and not value.strip():
        raise InvalidInput(f"{path}.{key} must not be empty")
    if len(value) > limit:
        raise InvalidInput(f"{path}.{key} is longer than {limit} characters")
    return value


def _url(data: Mapping[str, object], key: str, path: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{path}.{key} must be a string")
    if len(value) > MAX_URL:
        raise InvalidInput(f"{path}.{key} is longer than {MAX_URL} characters")
    if not _HTTPS_RE.fullmatch(value):
        raise InvalidInput(f"{path}.{key} must be an https:// address (no spaces, no user name)")
    return value


def _list(data: Mapping[str, object], key: str, path: str, most: int) -> list[object]:
    value = data.get(key)
    if not isinstance(value, list):
        raise InvalidInput(f"{path}.{key} must be a list")
    if not value:
        raise InvalidInput(f"{path}.{key} must not be empty")
    if len(value) > most:
        raise InvalidInput(f"{path}.{key} has at most {most} entries, not {len(value)}")
    return value


def _button(value: object, path: str, *, links: bool) -> RichButton:
    data = _mapping(value, path)
    _keys(data, ("label", "payload", "url") if links else ("label", "payload"), path)
    label = _line(data, "label", path, MAX_LABEL, required=True)
    url = _url(data, "url", path) if links else None
    payload = None
    if data.get("payload") is not None or url is None:
        payload = _line(data, "payload", path, MAX_PAYLOAD, required=True)
    if payload is not None and url is not None:
        raise InvalidInput(f"{path} has a payload or a url, not both")
    return RichButton(label=label, payload=payload, url=url)


def _buttons(
    data: Mapping[str, object], key: str, path: str, most: int, *, links: bool
) -> tuple[RichButton, ...]:
    items = _list(data, key, path, most)
    return tuple(_button(item, f"{path}.{key}[{i}]", links=links) for i, item in enumerate(items))


def _card(value: object, path: str) -> RichCard:
    data = _mapping(value, path)
    _keys(data, ("title", "text", "image_url", "image_alt", "buttons"), path)
    buttons: tuple[RichButton, ...] = ()
    if data.get("buttons") is not None:
        buttons = _buttons(data, "buttons", path, MAX_CARD_BUTTONS, links=True)
    return RichCard(
        title=_line(data, "title", path, MAX_TITLE, required=True),
        text=_line(data, "text", path, MAX_TEXT, required=False),
        image_url=_url(data, "image_url", path),
        image_alt=_line(data, "image_alt", path, MAX_ALT, required=False),
        buttons=buttons,
    )


def _list_picker(value: object, path: str) -> RichListPicker:
    data = _mapping(value, path)
    _keys(data, ("title", "items", "multiple"), path)
    multiple = data.get("multiple", False)
    if not isinstance(multiple, bool):
        raise InvalidInput(f"{path}.multiple must be true or false")
    items: list[RichListItem] = []
    for i, raw in enumerate(_list(data, "items", path, MAX_ITEMS)):
        where = f"{path}.items[{i}]"
        item = _mapping(raw, where)
        _keys(item, ("id", "label", "description"), where)
        items.append(
            RichListItem(
                id=_line(item, "id", where, MAX_PAYLOAD, required=True),
                label=_line(item, "label", where, MAX_LABEL, required=True),
                description=_line(item, "description", where, MAX_DESCRIPTION, required=False),
            )
        )
    return RichListPicker(
        title=_line(data, "title", path, MAX_TITLE, required=True),
        items=tuple(items),
        multiple=multiple,
    )


def parse_rich(value: object, path: str = "rich") -> Rich:
    """A rich message from its JSON form; ``InvalidInput`` naming the path of the first
    thing wrong (``rich.carousel[1].buttons[0].url must be an https:// address``)."""
    data = _mapping(value, path)
    _keys(data, KINDS, path)
    present = [kind for kind in KINDS if data.get(kind) is not None]
    if len(present) != 1:
        raise InvalidInput(f"{path} has exactly one of {', '.join(KINDS)}")
    (kind,) = present
    match kind:
        case "quick_replies":
            rich = Rich(quick_replies=_buttons(data, kind, path, MAX_QUICK_REPLIES, links=False))
        case "buttons":
            rich = Rich(buttons=_buttons(data, kind, path, MAX_BUTTONS, links=True))
        case "card":
            rich = Rich(card=_card(data[kind], f"{path}.card"))
        case "carousel":
            cards = _list(data, kind, path, MAX_CARDS)
            rich = Rich(
                carousel=tuple(_card(c, f"{path}.carousel[{i}]") for i, c in enumerate(cards))
            )
        case _:
            rich = Rich(list_picker=_list_picker(data[kind], f"{path}.list_picker"))
    seen: set[str] = set()
    for choice in choices(rich):
        if choice.payload in seen:
            raise InvalidInput(f"{path}: payload {choice.payload!r} is offered twice")
        seen.add(choice.payload)
    return rich


# --- writing -------------------------------------------------------------------------


def _button_json(button: RichButton) -> Json:
    out: Json = {"label": button.label}
    if button.payload is not None:
        out["payload"] = button.payload
    if button.url is not None:
        out["url"] = button.url
    return out


def _card_json(card: RichCard) -> Json:
    out: Json = {"title": card.title}
    if card.text:
        out["text"] = card.text
    if card.image_url is not None:
        out["image_url"] = card.image_url
        out["image_alt"] = card.image_alt or card.title
    if card.buttons:
        out["buttons"] = [_button_json(b) for b in card.buttons]
    return out


def rich_to_json(rich: Rich) -> Json:
    """The JSON form ``parse_rich`` reads (an image always has its ``image_alt``)."""
    if rich.quick_replies:
        return {"quick_replies": [_button_json(b) for b in rich.quick_replies]}
    if rich.buttons:
        return {"buttons": [_button_json(b) for b in rich.buttons]}
    if rich.card is not None:
        return {"card": _card_json(rich.card)}
    if rich.carousel:
        return {"carousel": [_card_json(c) for c in rich.carousel]}
    assert rich.list_picker is not None
    picker = rich.list_picker
    items: list[JsonValue] = []
    for item in picker.items:
        entry: Json = {"id": item.id, "label": item.label}
        if item.description:
            entry["description"] = item.description
        items.append(entry)
    return {"list_picker": {"title": picker.title, "items": items, "multiple": picker.multiple}}


def reply_to_json(reply: RichReply) -> Json:
    return {
        "seq": reply.seq,
        "payloads": list(reply.payloads),
        "numbers": list(reply.numbers),
        "labels": list(reply.labels),
    }


def reply_from_json(value: Mapping[str, object]) -> RichReply:
    """What ``reply_to_json`` wrote (stored, so not checked again)."""
    seq, payloads, numbers, labels = (value[k] for k in ("seq", "payloads", "numbers", "labels"))
    assert isinstance(seq, int)
    assert isinstance(payloads, list)
    assert isinstance(numbers, list)
    assert isinstance(labels, list)
    return RichReply(
        seq=seq,
        payloads=tuple(map(str, payloads)),
        numbers=tuple(map(int, numbers)),
        labels=tuple(map(str, labels)),
    )


# --- choosing ------------------------------------------------------------------------


def _cards(rich: Rich) -> tuple[RichCard, ...]:
    return (rich.card,) if rich.card is not None else rich.carousel


def choices(rich: Rich) -> list[RichChoice]:
    """What the visitor may choose, numbered from 1 in the order shown."""
    if rich.list_picker is not None:
        pairs = [(item.id, item.label) for item in rich.list_picker.items]
    else:
        buttons = rich.quick_replies or rich.buttons
        buttons += tuple(b for card in _cards(rich) for b in card.buttons)
        pairs = [(b.payload, b.label) for b in buttons if b.payload is not None]
    return [
        RichChoice(number=n, payload=payload, label=label)
        for n, (payload, label) in enumerate(pairs, start=1)
    ]


def choose(rich: Rich, seq: int, payloads: Sequence[str]) -> tuple[RichReply, str]:
    """The visitor's answer with ``payloads`` to ``rich`` (the message ``seq``), and the
    text it is stored with (the chosen labels, so agents and transcripts read it).
    ``InvalidInput`` for a payload the message did not offer, a repeated one, none, or
    several where only one may be chosen."""
    if not payloads:
        raise InvalidInput("reply_to.payload must name a choice")
    if len(payloads) > 1 and not rich.multiple:
        raise InvalidInput("reply_to.payload: this message takes one choice")
    if len(set(payloads)) != len(payloads):
        raise InvalidInput("reply_to.payload names a choice twice")
    offered = {choice.payload: choice for choice in choices(rich)}
    chosen: list[RichChoice] = []
    for payload in payloads:
        if payload not in offered:
            raise InvalidInput(
                f"reply_to.payload {payload[:MAX_PAYLOAD]!r} is not offered by message {seq}"
            )
        chosen.append(offered[payload])
    chosen.sort(key=lambda c: c.number)
    reply = RichReply(
        seq=seq,
        payloads=tuple(c.payload for c in chosen),
        numbers=tuple(c.number for c in chosen),
        labels=tuple(c.label for c in chosen),
    )
    return reply, ", ".join(c.label for c in chosen)


def stored_rich(value: object) -> Rich:
    """A stored rich message back (what ``rich_to_json`` wrote). Read by the same rules
    as new ones: should a limit ever become tighter, raise it here for stored values."""
    return parse_rich(value)
