"""A rich message as plain lines, for readers that cannot show it: an agent's XMPP
client and transcripts. Each choice keeps the number ``business.rich.choices`` gives it,
so an agent can answer "2" and the engine knows which; links keep their address."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from business.rich import Rich, RichButton, RichCard, RichReply, choices


def _numbered(choice_numbers: dict[str, int], buttons: Sequence[RichButton]) -> list[str]:
    lines = []
    for button in buttons:
        if button.payload is not None:
            lines.append(f"  {choice_numbers[button.payload]}) {button.label}")
        else:
            lines.append(f"  {button.label} <{button.url}>")
    return lines


@dataclass(frozen=True, slots=True, kw_only=True)
class FallbackWords:
    """The few words ``fallback_text`` puts around what the message itself says. The
    engine's default is English (transcripts, the CLI); the agent desk passes its
    tenant's language's (``xmpp_bridge.i18n_rich``)."""

    card: str = "card"
    list_picker: str = "list"
    image: str = "image"
    pick_one: str = "pick one"
    pick_any: str = "pick any"


ENGLISH: Final = FallbackWords()


def _card_lines(
    card: RichCard, numbers: dict[str, int], tag: str, words: FallbackWords
) -> list[str]:
    head = f"[{tag}] {card.title}" + (f" — {card.text}" if card.text else "")
    lines = [head]
    if card.image_url is not None:
        lines.append(f"  {words.image}: {card.image_url}")
    return lines + _numbered(numbers, card.buttons)


def fallback_text(rich: Rich, words: FallbackWords = ENGLISH) -> str:
    """The rich part of a message as plain lines for an agent's XMPP client: each choice
    with its number, links with their address; ``words`` in the reader's language."""
    numbers = {c.payload: c.number for c in choices(rich)}
    if rich.quick_replies or rich.buttons:
        return "\n".join(_numbered(numbers, rich.quick_replies or rich.buttons))
    if rich.card is not None:
        return "\n".join(_card_lines(rich.card, numbers, words.card, words))
    if rich.carousel:
        total = len(rich.carousel)
        lines: list[str] = []
        for i, card in enumerate(rich.carousel, start=1):
            lines += _card_lines(card, numbers, f"{words.card} {i}/{total}", words)
        return "\n".join(lines)
    assert rich.list_picker is not None
    picker = rich.list_picker
    how = words.pick_any if picker.multiple else words.pick_one
    lines = [f"[{words.list_picker}] {picker.title} ({how})"]
    for item in picker.items:
        extra = f" — {item.description}" if item.description else ""
        lines.append(f"  {numbers[item.id]}) {item.label}{extra}")
    return "\n".join(lines)


def reply_text(reply: RichReply) -> str:
    """A visitor's answer as an agent reads it: ``2) Rome`` (numbers as in the
    fallback of the message answered)."""
    return ", ".join(f"{n}) {label}" for n, label in zip(reply.numbers, reply.labels, strict=True))
