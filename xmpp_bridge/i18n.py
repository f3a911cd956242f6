"""Agents' notices about the visitor and the chat in the tenant's language.

What an agent reads in a conversation's window while chatting — the offer (its header,
page, referrer, footer), who joined or left, a transfer, the end of the chat, the
visitor's return, the visitor moving to another page — comes from
``notices_for(language)``: English is ``xmpp_bridge.texts`` (and ``texts_visit``)
itself, one source for it; the other languages are the catalogues below, keyed like the
methods of ``Notices``; a key a catalogue lacks falls back to English. Commands,
their help and their answers stay English (docs/agent-guide.md).

The language is the tenant's widget language (``business.languages.agent_language``),
read through ``TenantLanguages``: a small cache in front of the widget configuration,
so delivery does not read the store per message. Counts are put in a form that needs no
plural rules ("Weitere Felder nicht angezeigt: 3").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Final

from business.errors import NotFound
from business.languages import DEFAULT_LANGUAGE, LANGUAGES, agent_language
from business.model import TenantId, VisitorContext
from business.ttl_map import TtlMap
from business.visit import ChainStep, StartedBy
from business.widget_config import WidgetConfig
from xmpp_bridge import texts, texts_visit, texts_visitor

logger = logging.getLogger(__name__)

CATALOGUES: Final[Mapping[str, Mapping[str, str]]] = {
    "de": {
        "new_chat": "Neuer Chat von {visitor} (Warteschlange {queue}, gewartet {waited})",
        "the_chat": "Der Chat mit {visitor} (Warteschlange {queue}, gewartet {waited})",
        "page": "Seite: {page}",
        "referrer": "Verweis: {referrer}",
        "more_fields": "(weitere Felder nicht angezeigt: {count})",
        "earlier_messages": "(frühere Nachrichten nicht angezeigt: {count})",
        "no_messages": "(noch keine Nachrichten)",
        "offer_footer": "Antworten Sie, um den Chat zu übernehmen, oder !decline. ({seconds} s)",
        "offer_taken_footer": "Dieser Chat gehört Ihnen: antworten Sie hier. !help zeigt Befehle.",
        "joined": "{name} ist dem Chat beigetreten.",
        "joined_consult": "{name} berät mit (der Besucher sieht es nicht).",
        "left": "{name} hat den Chat verlassen.",
        "chat_ended": "Dieser Chat ist beendet; Nachrichten von hier erreichen niemanden mehr.",
        "chat_returned": "Der Besucher hat wieder geschrieben: der Chat ist zurück bei Ihnen.",
        "transferred": "{by} hat den Chat an {to} übergeben.",
        "transferred_queue": "{by} hat den Chat an die Warteschlange {queue} übergeben.",
        "moved": "Besucher ist jetzt auf: {page}",
        "identified": "Die Angaben des Besuchers haben sich geändert: {changes}",
        "label_name": "Name",
        "label_email": "E-Mail",
        "label_avatar": "Avatar",
        "offline_header": (
            "Offline-Nachricht von {visitor}, hinterlassen {when}{mail} (Warteschlange {queue}). "
            "Vermutlich ist niemand mehr da: Ihre Antwort erreicht die "
            "Person per E-Mail und beim nächsten Besuch im Chat."
        ),
        "offline_mail": ", E-Mail {email}",
        "visit": "Besuch: {parts}",
        "first_visit": "erster Besuch",
        "visit_number": "Besuch {count}",
        "pages_in_visit": "Seiten in diesem Besuch: {count}",
        "time_on_site": "{duration} auf der Website",
        "started_by": "Gestartet durch: {how}",
        "by_trigger": "Auslöser {trigger}",
        "by_button": "den Chat-Button",
        "by_embedded": "den in die Seite eingebetteten Chat",
        "by_continuation": "den von einer früheren Seite fortgesetzten Chat",
        "by_messaging": "einen offenen Messaging-Thread",
    },
    "fr": {
        "new_chat": "Nouveau chat de {visitor} (file {queue}, attente {waited})",
        "the_chat": "Le chat avec {visitor} (file {queue}, attente {waited})",
        "page": "Page : {page}",
        "referrer": "Provenance : {referrer}",
        "more_fields": "(champs supplémentaires non affichés : {count})",
        "earlier_messages": "(messages précédents non affichés : {count})",
        "no_messages": "(pas encore de message)",
        "offer_footer": "Répondez pour prendre ce chat, ou !decline. ({seconds} s)",
        "offer_taken_footer": "Ce chat est à vous : répondez ici. !help liste les commandes.",
        "joined": "{name} a rejoint le chat.",
        "joined_consult": "{name} a rejoint pour conseiller (le visiteur ne le voit pas).",
        "left": "{name} a quitté le chat.",
        "chat_ended": "Ce chat est terminé ; les messages envoyés ici n'atteignent plus personne.",
        "chat_returned": "Le visiteur a écrit à nouveau : le chat vous revient.",
        "transferred": "{by} a transféré le chat à {to}.",
        "transferred_queue": "{by} a confié le chat à la file {queue}.",
        "moved": "Le visiteur est passé à : {page}",
        "identified": "Les informations du visiteur ont changé : {changes}",
        "label_name": "nom",
        "label_email": "e-mail",
        "label_avatar": "avatar",
        "offline_header": (
            "Message hors ligne de {visitor}, laissé le {when}{mail} (file {queue}). "
            "La personne est sans doute partie : votre réponse lui parvient "
            "par e-mail et dans le chat à sa prochaine visite."
        ),
        "offline_mail": ", e-mail {email}",
        "visit": "Visite : {parts}",
        "first_visit": "première visite",
        "visit_number": "visite {count}",
        "pages_in_visit": "pages dans cette visite : {count}",
        "time_on_site": "{duration} sur le site",
        "started_by": "Démarré par : {how}",
        "by_trigger": "le déclencheur {trigger}",
        "by_button": "le bouton de chat",
        "by_embedded": "le chat intégré à la page",
        "by_continuation": "le chat repris d'une page précédente",
        "by_messaging": "un fil de messagerie ouvert",
    },
    "es": {
        "new_chat": "Nuevo chat de {visitor} (cola {queue}, esperó {waited})",
        "the_chat": "El chat con {visitor} (cola {queue}, esperó {waited})",
        "page": "Página: {page}",
        "referrer": "Procedencia: {referrer}",
        "more_fields": "(campos adicionales no mostrados: {count})",
        "earlier_messages": "(mensajes anteriores no mostrados: {count})",
        "no_messages": "(aún no hay mensajes)",
        "offer_footer": "Responde para tomar este chat, o !decline. ({seconds} s)",
        "offer_taken_footer": "Este chat es tuyo: responde aquí. !help lista los comandos.",
        "joined": "{name} se unió al chat.",
        "joined_consult": "{name} se unió para asesorar (el visitante no lo ve).",
        "left": "{name} salió del chat.",
        "chat_ended": "Este chat ha terminado; los mensajes enviados aquí ya no llegan a nadie.",
        "chat_returned": "El visitante volvió a escribir: el chat vuelve a ser tuyo.",
        "transferred": "{by} transfirió el chat a {to}.",
        "transferred_queue": "{by} pasó el chat a la cola {queue}.",
        "moved": "El visitante pasó a: {page}",
        "identified": "Los datos del visitante cambiaron: {changes}",
        "label_name": "nombre",
        "label_email": "correo",
        "label_avatar": "avatar",
        "offline_header": (
            "Mensaje fuera de línea de {visitor}, dejado el {when}{mail} (cola {queue}). "
            "Probablemente ya no está: tu respuesta le llega por correo "
            "electrónico y en el chat en su próxima visita."
        ),
        "offline_mail": ", correo {email}",
        "visit": "Visita: {parts}",
        "first_visit": "primera visita",
        "visit_number": "visita {count}",
        "pages_in_visit": "páginas en esta visita: {count}",
        "time_on_site": "{duration} en el sitio",
        "started_by": "Iniciado por: {how}",
        "by_trigger": "el disparador {trigger}",
        "by_button": "el botón de chat",
        "by_embedded": "el chat integrado en la página",
        "by_continuation": "el chat continuado desde una página anterior",
        "by_messaging": "un hilo de mensajería abierto",
    },
    "ar": {
        "new_chat": "محادثة جديدة من {visitor} (قائمة الانتظار {queue}، انتظر {waited})",
        "the_chat": "المحادثة مع {visitor} (قائمة الانتظار {queue}، انتظر {waited})",
        "page": "الصفحة: {page}",
        "referrer": "المصدر: {referrer}",
        "more_fields": "(حقول أخرى غير معروضة: {count})",
        "earlier_messages": "(رسائل سابقة غير معروضة: {count})",
        "no_messages": "(لا توجد رسائل بعد)",
        "offer_footer": "رُدّ لتتولى هذه المحادثة، أو !decline. ({seconds} ث)",
        "offer_taken_footer": "هذه المحادثة لك: أجب هنا. !help يعرض الأوامر.",
        "joined": "انضم {name} إلى المحادثة.",
        "joined_consult": "انضم {name} للاستشارة (لا يراه الزائر).",
        "left": "غادر {name} المحادثة.",
        "chat_ended": "انتهت هذه المحادثة؛ الرسائل المرسلة هنا لا تصل إلى أحد.",
        "chat_returned": "كتب الزائر مرة أخرى: عادت المحادثة إليك.",
        "transferred": "نقل {by} المحادثة إلى {to}.",
        "transferred_queue": "سلّم {by} المحادثة إلى قائمة الانتظار {queue}.",
        "moved": "انتقل الزائر إلى: {page}",
        "identified": "تغيّرت بيانات الزائر: {changes}",
        "label_name": "الاسم",
        "label_email": "البريد الإلكتروني",
        "label_avatar": "الصورة",
        "offline_header": (
            "رسالة دون اتصال من {visitor}، تُركت في {when}{mail} (قائمة الانتظار {queue}). "
            "على الأرجح غادر الزائر: يصله ردك بالبريد الإلكتروني وفي المحادثة عند زيارته القادمة."
        ),
        "offline_mail": "، البريد الإلكتروني {email}",
        "visit": "الزيارة: {parts}",
        "first_visit": "الزيارة الأولى",
        "visit_number": "الزيارة {count}",
        "pages_in_visit": "الصفحات في هذه الزيارة: {count}",
        "time_on_site": "{duration} على الموقع",
        "started_by": "بدأها: {how}",
        "by_trigger": "المُشغِّل {trigger}",
        "by_button": "زر المحادثة",
        "by_embedded": "المحادثة المضمنة في الصفحة",
        "by_continuation": "المحادثة المستمرة من صفحة سابقة",
        "by_messaging": "سلسلة مراسلة مفتوحة",
    },
}


class Notices:
    """The notices in one language; English (``texts``) for what the catalogue lacks."""

    __slots__ = ("_catalogue", "language")

    def __init__(self, language: str) -> None:
        self.language = language
        self._catalogue = CATALOGUES.get(language, {})

    def _say(self, key: str, english: str, **values: object) -> str:
        template = self._catalogue.get(key)
        return english if template is None else template.format(**values)

    def offer_header(
        self, visitor: str, queue: str, waited: str, *, new: bool, channel: str | None
    ) -> str:
        english = texts_visitor.offer_header(visitor, queue, waited, new=new, channel=channel)
        if channel is not None:
            return english  # an API channel's offer names the channel: English for now
        key = "new_chat" if new else "the_chat"
        return self._say(key, english, visitor=visitor, queue=queue, waited=waited)

    def offer_page(self, title: str | None, url: str | None) -> str:
        page = f"{title} - {url}" if title and url else (title or url)
        return self._say("page", texts.offer_page(title, url), page=page)

    def offer_referrer(self, referrer: str) -> str:
        return self._say("referrer", texts.offer_referrer(referrer), referrer=referrer)

    def offer_more_fields(self, count: int) -> str:
        return self._say("more_fields", texts.offer_more_fields(count), count=count)

    def offer_earlier_messages(self, count: int) -> str:
        return self._say("earlier_messages", texts.offer_earlier_messages(count), count=count)

    @property
    def offer_no_messages(self) -> str:
        return self._say("no_messages", texts.OFFER_NO_MESSAGES)

    def offer_footer(self, seconds: int) -> str:
        return self._say("offer_footer", texts.offer_footer(seconds), seconds=seconds)

    @property
    def offer_taken_footer(self) -> str:
        return self._say("offer_taken_footer", texts.OFFER_TAKEN_FOOTER)

    def joined(self, name: str) -> str:
        return self._say("joined", texts.joined(name), name=name)

    def member_joined(self, name: str, role: str) -> str:
        english = texts.member_joined(name, role)
        return self._say("joined_consult" if role == "consultant" else "joined", english, name=name)

    def left(self, name: str) -> str:
        return self._say("left", texts.left(name), name=name)

    @property
    def chat_ended(self) -> str:
        return self._say("chat_ended", texts.CHAT_ENDED)

    @property
    def chat_returned(self) -> str:
        return self._say("chat_returned", texts.CHAT_RETURNED)

    def visitor_moved(self, title: str | None, url: str) -> str:
        english = texts_visit.visitor_moved(title, url)
        return self._say("moved", english, page=texts_visit.page(title, url))

    def visitor_identified(self, changes: tuple[tuple[str, str], ...]) -> str:
        english = texts_visit.visitor_identified(changes)
        labels = {
            key: self._say(f"label_{key}", english_label)
            for key, english_label in texts_visit.IDENTIFIED_LABELS.items()
        }
        listed = texts_visit.identified_changes(changes, labels)
        return self._say("identified", english, changes=listed)

    def offline_offer_header(
        self, visitor: str, queue: str, left_at: datetime, email: str | None
    ) -> str:
        english = texts_visitor.offline_offer_header(visitor, queue, left_at, email)
        when = left_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        mail = self._say("offline_mail", f", e-mail {email}", email=email) if email else ""
        return self._say(
            "offline_header", english, visitor=visitor, queue=queue, when=when, mail=mail
        )

    def visit_summary(self, ctx: VisitorContext) -> str | None:
        english = texts_visit.visit_summary(ctx)
        if english is None or not self._catalogue:
            return english
        parts = []
        if ctx.visit_count is not None:
            count = ctx.visit_count
            parts.append(
                self._say("first_visit", "")
                if count == 1
                else self._say("visit_number", "", count=count)
            )
        if ctx.pages:
            parts.append(self._say("pages_in_visit", "", count=len(ctx.pages)))
        if ctx.time_on_site is not None:
            duration = texts.format_duration(timedelta(seconds=ctx.time_on_site))
            parts.append(self._say("time_on_site", "", duration=duration))
        return self._say("visit", english, parts=", ".join(parts))

    def started_by(self, started: StartedBy) -> str:
        english = texts_visit.started_by(started)
        match started.chain:
            case ChainStep.TRIGGERS if started.trigger:
                how = self._say("by_trigger", "", trigger=started.trigger)
            case ChainStep.TRIGGERS:
                how = self._say("by_button", "")
            case ChainStep.EMBEDDED:
                how = self._say("by_embedded", "")
            case ChainStep.CONTINUATION:
                how = self._say("by_continuation", "")
            case ChainStep.MESSAGING:
                how = self._say("by_messaging", "")
        return self._say("started_by", english, how=how)

    def transferred(self, by: str, to: str | None, queue: str | None) -> str:
        english = texts.transferred(by, to, queue)
        if to is not None:
            return self._say("transferred", english, by=by, to=to)
        return self._say("transferred_queue", english, by=by, queue=queue)


_NOTICES: Final = {language: Notices(language) for language in LANGUAGES}


def notices_for(language: str) -> Notices:
    """The notices in ``language``; English for one the engine does not have."""
    return _NOTICES.get(language) or _NOTICES[DEFAULT_LANGUAGE]


class TenantLanguages:
    """Each tenant's agent language, cached: at most ``maxsize`` tenants, each for ``ttl``
    seconds (a change made by another engine process shows within that), dropped at
    once when this process changes the configuration (``forget``).

    ``cached`` answers without waiting (None: not known, ``load`` it); ``load`` reads
    the configuration once however many deliveries ask at the same time.
    """

    def __init__(
        self,
        read: Callable[[TenantId], Awaitable[WidgetConfig]],
        *,
        maxsize: int = 1024,
        ttl: float = 60.0,
    ) -> None:
        self._read = read
        self._cache: TtlMap[TenantId, str] = TtlMap(maxsize=maxsize, ttl=ttl)
        self._lock = asyncio.Lock()

    def cached(self, tenant: TenantId) -> str | None:
        return self._cache.get(tenant)

    def forget(self, tenant: TenantId) -> None:
        self._cache.pop(tenant, None)

    async def load(self, tenant: TenantId) -> str:
        known = self._cache.get(tenant)
        if known is not None:
            return known
        async with self._lock:
            known = self._cache.get(tenant)
            if known is not None:
                return known
            try:
                language = agent_language((await self._read(tenant)).document)
            except NotFound:
                language = DEFAULT_LANGUAGE
            self._cache[tenant] = language
            return language
