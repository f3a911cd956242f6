"""What an agent reads in a chat's window when an inactivity rule of its queue reaches
them (``business.inactivity``), in the tenant's language like the other notices about
the chat (``xmpp_bridge.i18n``); a language missing here gets English."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

ENGLISH: Final[Mapping[str, str]] = {
    "reply_reminder": "Reminder: the visitor has been waiting {minutes} min for your answer.",
    "rerouted": (
        "The visitor waited {minutes} min without an answer: the chat went back to the queue."
    ),
    "visit_ended": (
        "No message for {minutes} min: the visit is over and the thread leaves you. "
        "The visitor's next message goes to routing again."
    ),
}

CATALOGUES: Final[Mapping[str, Mapping[str, str]]] = {
    "de": {
        "reply_reminder": "Erinnerung: Der Besucher wartet seit {minutes} Min. auf Ihre Antwort.",
        "rerouted": (
            "Der Besucher hat {minutes} Min. ohne Antwort gewartet: "
            "der Chat ist zurück in der Warteschlange."
        ),
        "visit_ended": (
            "Seit {minutes} Min. keine Nachricht: der Besuch ist vorbei und der Thread "
            "verlässt Sie. Die nächste Nachricht des Besuchers wird neu verteilt."
        ),
    },
    "fr": {
        "reply_reminder": "Rappel : le visiteur attend votre réponse depuis {minutes} min.",
        "rerouted": (
            "Le visiteur a attendu {minutes} min sans réponse : le chat est retourné dans la file."
        ),
        "visit_ended": (
            "Aucun message depuis {minutes} min : la visite est terminée et le fil vous quitte. "
            "Le prochain message du visiteur sera de nouveau routé."
        ),
    },
    "es": {
        "reply_reminder": (
            "Recordatorio: el visitante espera tu respuesta desde hace {minutes} min."
        ),
        "rerouted": ("El visitante esperó {minutes} min sin respuesta: el chat volvió a la cola."),
        "visit_ended": (
            "Ningún mensaje en {minutes} min: la visita terminó y el hilo te deja. "
            "El próximo mensaje del visitante se enrutará de nuevo."
        ),
    },
    "ar": {
        "reply_reminder": "تذكير: ينتظر الزائر ردك منذ {minutes} دقيقة.",
        "rerouted": "انتظر الزائر {minutes} دقيقة دون رد: عادت المحادثة إلى قائمة الانتظار.",
        "visit_ended": (
            "لا رسائل منذ {minutes} دقيقة: انتهت الزيارة وغادرتك السلسلة. "
            "ستُوجَّه رسالة الزائر التالية من جديد."
        ),
    },
}


def idle_notice(language: str, kind: str, minutes: int) -> str | None:
    """The notice of ``kind`` in ``language`` (English if it lacks it); None for a kind
    this engine does not know (stored by a newer one)."""
    english = ENGLISH.get(kind)
    if english is None:
        return None
    template = CATALOGUES.get(language, {}).get(kind, english)
    return template.format(minutes=minutes)
