"""The words around rich messages and a bot's buttons in the agents' language, as the
other notices about the chat (``xmpp_bridge.i18n``): what frames a card, a carousel or
a list in the text fallback (``business.rich_fallback.FallbackWords``), the line that reports
the visitor's choice, and the bot's options after its message. The numbers and the
message's own words stay as they are, so ``2)`` means the same in every language.
English is the engine's own (``business.rich_fallback.ENGLISH``, ``texts_bots``);
a language missing here gets English."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from business.rich_fallback import ENGLISH, FallbackWords


@dataclass(frozen=True, slots=True, kw_only=True)
class RichNotices:
    words: FallbackWords = ENGLISH
    chose: str = "{name} chose: {choices}"
    """The visitor's answer to a rich message: ``Vera chose: 2) Rome``."""
    options: str | None = None
    """After a bot's message: the buttons it showed the visitor (None: English,
    ``texts_bots.bot_options``)."""


CATALOGUES: Final[Mapping[str, RichNotices]] = {
    "en": RichNotices(),
    "de": RichNotices(
        words=FallbackWords(
            card="Karte",
            list_picker="Liste",
            image="Bild",
            pick_one="eines wählen",
            pick_any="beliebig viele wählen",
        ),
        chose="{name} hat gewählt: {choices}",
        options=" (Optionen: {labels})",
    ),
    "fr": RichNotices(
        words=FallbackWords(
            card="carte",
            list_picker="liste",
            image="image",
            pick_one="un seul choix",
            pick_any="plusieurs choix possibles",
        ),
        chose="{name} a choisi : {choices}",
        options=" (options : {labels})",
    ),
    "es": RichNotices(
        words=FallbackWords(
            card="tarjeta",
            list_picker="lista",
            image="imagen",
            pick_one="elegir una",
            pick_any="elegir varias",
        ),
        chose="{name} eligió: {choices}",
        options=" (opciones: {labels})",
    ),
    "ar": RichNotices(
        words=FallbackWords(
            card="بطاقة",
            list_picker="قائمة",
            image="صورة",
            pick_one="اختيار واحد",
            pick_any="اختيار عدة عناصر",
        ),
        chose="اختار {name}: {choices}",
        options=" (خيارات: {labels})",
    ),
}


def rich_notices(language: str) -> RichNotices:
    """The words in ``language``; English for one the engine does not have."""
    return CATALOGUES.get(language) or CATALOGUES["en"]
