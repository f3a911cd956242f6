"""The languages the engine speaks to visitors (the widget's locale files) and to agents
(``xmpp_bridge.i18n``), and the tenant's choice among them.

A tenant picks one in its widget configuration (``"language"``); ``"auto"`` lets each
visitor's browser choose (the first of its preferred languages the widget has, else
English). Agents' notices cannot follow a browser, so for them ``"auto"`` is English.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from business.errors import InvalidInput

LANGUAGES: Final = ("en", "de", "fr", "es", "ar")
"""The same list as ``presentation/widget/src/i18n.js``; the two change together."""
AUTO: Final = "auto"
DEFAULT_LANGUAGE: Final = "en"
RIGHT_TO_LEFT: Final = frozenset({"ar"})


def check_language(raw: object, where: str = "language") -> str:
    """``raw`` when it is ``"auto"`` or a language the engine has; ``InvalidInput``
    listing them otherwise."""
    if isinstance(raw, str) and (raw == AUTO or raw in LANGUAGES):
        return raw
    shown = repr(raw) if isinstance(raw, str) else "that"
    raise InvalidInput(
        f"{where}: {shown} is not a language the widget has; one of {AUTO}, {', '.join(LANGUAGES)}"
    )


def agent_language(document: Mapping[str, object]) -> str:
    """The language of agents' notices for a widget configuration ``document``: its
    ``language``, English for ``"auto"`` (or none, or one this engine lacks)."""
    language = document.get("language")
    return language if isinstance(language, str) and language in LANGUAGES else DEFAULT_LANGUAGE
