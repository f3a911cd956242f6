"""The offer's text: who is asking, from where, and what they wrote while queued.

An offer is one message, abridged to fit the stanza budget rather than split: it is one
decision for the agent (take it or not), its first line says who and its last how to
answer, and a visitor's context and queued messages are unbounded in number while the
offer must stay readable at a glance. What is left out is counted in the text, and stays
stored: the conversation's history has all of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from business.conversation import Conversation
from business.events import DeskMessage, MessagePosted, NoteAdded, OfferMade, StoredEvent
from business.model import Channel, OfferKind
from business.transcript_requests import EMAIL_FIELD
from xmpp_bridge import texts, texts_rich
from xmpp_bridge.converters.sizes import cut_to_fit, xml_safe, xml_size
from xmpp_bridge.i18n import Notices, notices_for

_PAGE_TITLE_CHARS = 200
_ADDRESS_CHARS = 500
_FIELD_NAME_CHARS = 100
_FIELD_VALUE_CHARS = 300
"""When not everything fits, context values are cut to this: enough to recognise an
order number or a plan, and many fields fit side by side."""
_MIN_CUT = 120
"""Bytes: a line cut shorter than this says too little; it is counted as left out."""


def offer_text(
    conversation: Conversation,
    offer: OfferMade,
    earlier: Sequence[StoredEvent],
    *,
    room: int | None = None,
    say: Notices | None = None,
    attachment_url: Callable[[str], str] = str,
) -> str:
    """The offer as plain text, readable in any client: who, where from, what so far.

    With ``room``, the text's size in a stanza (``sizes.xml_size``) stays within ``room``
    bytes, provided its first and last lines alone fit. When everything does not fit:
    context values are cut to a few hundred characters and the fields after those that
    fit are counted, not shown; messages are kept newest first, the first that does not
    fit is cut, and the older ones are counted. Context gets half the room, or more when
    the messages need less. ``say``: the notices' language (English by default).
    ``attachment_url``: how files show (``Addressing.attachment_url``: signed URLs).
    """
    say = say or notices_for("en")
    waited = texts.format_duration(offer.created_at - conversation.created_at)
    if conversation.offered_to == offer.agent.id:
        footer = say.offer_footer(round((offer.expires_at - offer.created_at).total_seconds()))
    else:
        footer = say.offer_taken_footer  # taken already (auto-accept)
    routed = offer.kind is OfferKind.ROUTE
    channel = None
    if conversation.channel is Channel.API:
        channel = conversation.provider or ""
    header = say.offer_header(
        conversation.visitor_name, conversation.queue, waited, new=routed, channel=channel
    )
    if conversation.offline and routed:
        header = say.offline_offer_header(
            conversation.visitor_name,
            conversation.queue,
            conversation.created_at,
            conversation.form.get(EMAIL_FIELD),
        )
    if not routed:
        by = offer.by.name if offer.by is not None else "A colleague"
        header = f"{texts.person_offer_header(offer.kind.value, by, offer.note)} {header}"
    header = xml_safe(header)
    history = [
        xml_safe(line)
        for e in earlier
        if (line := _transcript_line(e, attachment_url, say.language)) is not None
    ]
    context = _context_lines(conversation, say, abridged=False)
    whole = _assemble(header, context, history, footer, say)
    if room is None or xml_size(whole) <= room:
        return whole

    # Each line costs its size and a newline; the text has one newline fewer.
    fixed = [header, "", "", footer] + ([] if history else [say.offer_no_messages])
    available = room + 1 - _lines_size(fixed)
    context = _context_lines(conversation, say, abridged=True)
    context_share = max(available // 2, available - _lines_size(history))
    kept_context, used = _fit_in_order(context, context_share, say.offer_more_fields)
    newest_first, _ = _fit_in_order(history[::-1], available - used, say.offer_earlier_messages)
    return _assemble(header, kept_context, newest_first[::-1], footer, say)


def _assemble(
    header: str, context: list[str], history: list[str], footer: str, say: Notices
) -> str:
    return "\n".join([header, *context, "", *(history or [say.offer_no_messages]), "", footer])


def _context_lines(conversation: Conversation, say: Notices, *, abridged: bool) -> list[str]:
    def cut(text: str, chars: int) -> str:
        return texts.shorten(text, chars) if abridged else text

    ctx = conversation.context
    lines: list[str] = []
    if ctx.page_title or ctx.page_url:
        title = cut(ctx.page_title, _PAGE_TITLE_CHARS) if ctx.page_title else None
        url = cut(ctx.page_url, _ADDRESS_CHARS) if ctx.page_url else None
        lines.append(say.offer_page(title, url))
    if ctx.referrer:
        lines.append(say.offer_referrer(cut(ctx.referrer, _ADDRESS_CHARS)))
    if (visit := say.visit_summary(ctx)) is not None:
        lines.append(visit)
    if conversation.started_by is not None:
        lines.append(say.started_by(conversation.started_by))
    shown = ("name", EMAIL_FIELD) if conversation.offline else ("name",)  # in the header
    fields = [(k, v) for k, v in conversation.form.items() if k not in shown and v]
    fields += [(k, v) for k, v in ctx.custom.items() if v]
    lines.extend(
        texts.offer_field(cut(key, _FIELD_NAME_CHARS), cut(value, _FIELD_VALUE_CHARS))
        for key, value in fields
    )
    return [xml_safe(line) for line in lines]


def _transcript_line(
    event: StoredEvent, attachment_url: Callable[[str], str], language: str
) -> str | None:
    """``event`` as a line of the transcript an offer carries, if it is one: what was
    said (a bot's marked as such), and for the agents also notes and consult messages."""
    match event:
        case MessagePosted(sender=who):
            # The agent should see who said it (a bot as a bot), and what a bot offered
            # the visitor to click.
            options = texts_rich.bot_options([q.label for q in event.quick_replies], language)
            if event.reply_to is not None:
                return texts_rich.visitor_chose(who.name, event.reply_to, language)
            said = texts_rich.with_rich(
                _message_text(event, attachment_url) + options, event.rich, language
            )
            return texts.said_by(who.name, who.kind) + said
        case NoteAdded():
            return texts.note_by(event.by.name, event.text)
        case DeskMessage():
            files = [attachment_url(a) for a in event.attachments]
            said = " ".join([event.text, *files] if event.text.strip() else files)
            return texts.consulted_by(event.sender.name) + said
        case _:
            return None


def _message_text(message: MessagePosted, attachment_url: Callable[[str], str]) -> str:
    files = [attachment_url(a) for a in message.attachments]
    return " ".join([message.text, *files] if message.text.strip() else files)


def _fit_in_order(
    lines: Sequence[str], room: int, left_out: Callable[[int], str]
) -> tuple[list[str], int]:
    """The first ``lines`` that fit ``room`` (each costing its size plus a newline), the
    first that does not cut to fit if enough is left, then ``left_out(n)`` for the ``n``
    not shown; and the room used.

    Room for the ``left_out`` line is kept back before each line is taken, so it always
    fits when it is needed.
    """
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        after = len(lines) - index - 1
        reserve = _line_size(left_out(after)) if after else 0
        if used + _line_size(line) + reserve <= room:
            kept.append(line)
            used += _line_size(line)
            continue
        left = room - used - reserve - 1
        if left >= _MIN_CUT:
            kept.append(cut_to_fit(line, left, texts.ELLIPSIS))
            used += _line_size(kept[-1])
            skipped = after
        else:
            skipped = after + 1
        if skipped and used + _line_size(left_out(skipped)) <= room:
            kept.append(left_out(skipped))
            used += _line_size(kept[-1])
        break
    return kept, used


def _line_size(line: str) -> int:
    return xml_size(line) + 1


def _lines_size(lines: Sequence[str]) -> int:
    return sum(_line_size(line) for line in lines)
