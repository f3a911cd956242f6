"""A visitor asks for their conversation's transcript by e-mail.

The request is checked (mail configured, the visitor's own conversation, an address
given or known, fewer than ``MailSettings.max_requests`` before, and an address known
to the conversation or one of at most ``max_addresses`` others: anybody may open a
chat, so without those limits the engine would mail to any address) and stored in the
outbox in one transaction; the caller's ack means it is stored, so a restart does not
lose it. The mail goes out afterwards (``business.transcript_sending``), made from what
is stored then: a request during the chat gets the transcript as far as it went.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from business import commands as c
from business.access import visitor_conversation
from business.conversation import Conversation
from business.email_addresses import check_email
from business.errors import EmailRequired, InvalidInput, TranscriptLimit, Unavailable
from business.mail_settings import MailSettings
from business.model import new_id
from business.ports import Clock
from business.transactions import Transactions, retrying
from business.transcript_mail_ports import AUTOMATIC, QueuedTranscript, TranscriptMailId

logger = logging.getLogger(__name__)

EMAIL_FIELD = "email"
"""The field of the pre-chat form, or of the site's custom variables, that holds the
visitor's address."""


def known_email(conversation: Conversation) -> str | None:
    """The visitor's address as the conversation knows it: the pre-chat form's ``email``,
    else the site's custom variable ``email``; a malformed one counts as none."""
    for fields in (conversation.form, conversation.context.custom):
        value = fields.get(EMAIL_FIELD)
        if value:
            try:
                return check_email(value)
            except InvalidInput:
                continue
    return None


def new_mail_id() -> TranscriptMailId:
    return TranscriptMailId(new_id())


class TranscriptRequestService:
    def __init__(
        self,
        *,
        transactions: Transactions,
        clock: Clock,
        settings: MailSettings,
        available: bool,
    ) -> None:
        self._tx = transactions
        self._clock = clock
        self._settings = settings
        self._available = available
        self._listeners: list[Callable[[], None]] = []

    @property
    def available(self) -> bool:
        """Whether transcripts can be sent: mail is configured and a mailer wired."""
        return self._available

    def on_queued(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after each request is stored (the sender wakes up)."""
        self._listeners.append(listener)

    async def request(self, cmd: c.RequestTranscript) -> QueuedTranscript:
        """Queue the transcript for ``cmd.email``, or else the address the conversation
        knows. ``Unavailable`` when mail is off, ``EmailRequired`` without an address,
        ``InvalidInput`` for a malformed one, ``NotFound``/``Forbidden`` for a
        conversation that is not the visitor's, ``TranscriptLimit`` past a limit."""
        if not self._available:
            raise Unavailable("transcripts by e-mail are not available on this server")
        address = None if cmd.email is None else check_email(cmd.email)
        # Two requests at once may pick the same number; the loser decides again.
        queued = await retrying(lambda: self._queue(cmd, address))
        logger.info(
            "conversation %s: transcript %s queued (request %d)",
            queued.conversation_id,
            queued.id,
            queued.number,
        )
        for listener in self._listeners:
            listener()
        return queued

    def _check_limits(
        self, conv: Conversation, to: str, last: int, earlier: Sequence[QueuedTranscript]
    ) -> None:
        settings = self._settings
        if last >= settings.max_requests:
            raise TranscriptLimit(
                f"a conversation's transcript can be sent at most {settings.max_requests} times"
            )
        known = (known_email(conv) or "").casefold()
        others = {m.address.casefold() for m in earlier if m.number > AUTOMATIC} - {known}
        address = to.casefold()
        if address != known and address not in others and len(others) >= settings.max_addresses:
            raise TranscriptLimit(
                f"a conversation's transcript can be sent to at most "
                f"{settings.max_addresses} address(es) besides the one it knows"
            )

    async def _queue(self, cmd: c.RequestTranscript, address: str | None) -> QueuedTranscript:
        now = self._clock.now()
        async with self._tx() as tx:
            conv = await visitor_conversation(
                tx, cmd.visitor_id, cmd.conversation_id, for_update=False
            )
            if conv.ended_at is not None and (now - conv.ended_at).total_seconds() > (
                self._settings.retention
            ):
                # Its transcripts may have left the outbox (``purge``), and with them
                # what its limits count.
                raise TranscriptLimit(
                    "a conversation's transcript can be sent up to "
                    f"{_days(self._settings.retention)} after it ended"
                )
            to = address or known_email(conv)
            if to is None:
                raise EmailRequired("no e-mail address is known for this conversation; give one")
            earlier = await tx.transcript_mails.list_for_conversation(conv.id)
            # Offline answers (``business.offline_answers``) are numbered below AUTOMATIC.
            last = max((m.number for m in earlier if m.number > AUTOMATIC), default=AUTOMATIC)
            self._check_limits(conv, to, last, earlier)
            queued = QueuedTranscript(
                id=new_mail_id(),
                tenant_id=conv.tenant_id,
                conversation_id=conv.id,
                number=last + 1,
                address=to,
                created_at=now,
                next_attempt_at=now,
            )
            await tx.transcript_mails.add(queued)
            await tx.commit()
        return queued


def _days(seconds: float) -> str:
    days = seconds / 86400
    return f"{days:g} day(s)" if days >= 1 else f"{seconds:g} seconds"
