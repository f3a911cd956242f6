"""What the visitor reads when an inactivity rule reaches them: system messages, in the
tenant's widget language (``business.languages.agent_language``: English for
``auto``, since the engine cannot follow the visitor's browser when nobody is there).
The widget shows a system message's text as it is. A queue may have its own texts
(``Queue.visitor_idle_alert_text``, ``visitor_idle_close_text``): ``business.inactivity``
sends those instead, in every language, as the administrator wrote them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from business.languages import DEFAULT_LANGUAGE

ALERT: Final[Mapping[str, str]] = {
    "en": "Are you still there? This chat will close soon if we don't hear from you.",
    "de": "Sind Sie noch da? Dieser Chat wird bald beendet, wenn wir nichts von Ihnen hören.",
    "fr": "Êtes-vous toujours là ? Ce chat sera bientôt fermé sans nouvelles de votre part.",
    "es": "¿Sigues ahí? Este chat se cerrará pronto si no sabemos nada de ti.",
    "ar": "هل ما زلت هنا؟ ستُغلق هذه المحادثة قريبًا إذا لم نسمع منك.",
}
CLOSED: Final[Mapping[str, str]] = {
    "en": "This chat was closed because of inactivity.",
    "de": "Dieser Chat wurde wegen Inaktivität beendet.",
    "fr": "Ce chat a été fermé pour cause d'inactivité.",
    "es": "Este chat se cerró por inactividad.",
    "ar": "أُغلقت هذه المحادثة بسبب عدم النشاط.",
}


def alert_text(language: str) -> str:
    return ALERT.get(language, ALERT[DEFAULT_LANGUAGE])


def closed_text(language: str) -> str:
    return CLOSED.get(language, CLOSED[DEFAULT_LANGUAGE])
