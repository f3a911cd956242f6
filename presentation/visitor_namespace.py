"""The Socket.IO ``/visitor`` namespace: connect, the client events and their acks.

Every handler parses its payload into a business command, awaits the service (which
returns only after commit), and only then returns the ack. Errors of any kind become an
error ack through ``presentation.errors``; a handler never leaves a client without one.
Connects and events pass the rate limits of ``presentation.limits`` first, a connect
also the caps on open sockets per visitor and per client address, and a socket whose
unsent output has grown past ``presentation.output_bound`` is cut off instead of being
answered.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final

import socketio
from aiohttp import web

from business import commands as c
from business.errors import InvalidInput, RateLimited, Unavailable, UnknownVisitor
from business.model import DEFAULT_QUEUE, ConversationId, ConversationState, TenantId, VisitorId
from business.rich_replies import AnswerRichMessage
from business.services import Services
from business.sessions import VisitorSession
from presentation import payloads
from presentation.drain import Drain
from presentation.errors import UNAVAILABLE, ConnectRefused, error_ack, error_body
from presentation.event_refs import EventRefs
from presentation.limits import OpenSockets, VisitorLimits
from presentation.output_bound import OutputBound
from presentation.settings import WebSettings
from presentation.wire import (
    CONVERSATION_MODE,
    MESSAGING_MODE,
    Json,
    conversation_to_wire,
    message_ack_to_wire,
    thread_to_wire,
)

logger = logging.getLogger(__name__)

NAMESPACE: Final = "/visitor"


def conversation_room(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


def visitor_room(visitor_id: str) -> str:
    """Every socket (tab) of one visitor; reaches tabs opened before a conversation was."""
    return f"visitor:{visitor_id}"


@dataclass(slots=True, kw_only=True)
class _VisitorSocket:
    sid: str
    tenant_id: TenantId
    visitor_id: VisitorId
    address: str
    """The client address it is counted under in ``OpenSockets``."""


class _LeftWhileConnectingError(Exception):
    """The client's connection closed while its connect was being handled."""


_Action = Callable[[_VisitorSocket, object], Awaitable[Json]]


class VisitorNamespace:
    """Holds the per-socket state of this process and registers the handlers."""

    def __init__(
        self,
        *,
        sio: socketio.AsyncServer,
        services: Services,
        settings: WebSettings,
        limits: VisitorLimits,
        output: OutputBound,
        drain: Drain | None = None,
    ) -> None:
        self._sio = sio
        self._drain = drain or Drain()
        self._services = services
        self._settings = settings
        self._limits = limits
        self._output = output
        self._refs = EventRefs(
            inline_max_bytes=settings.event_inline_max_bytes,
            attachment_url=services.files.links.for_visitor,
        )
        # Per process on purpose: with a Redis manager each socket still lives in exactly
        # one process (sticky sessions), and only that process runs its handlers.
        self._sockets: dict[str, _VisitorSocket] = {}
        # Counts exactly the sockets in _sockets, plus those whose connect is running.
        self._open = OpenSockets(settings)

    def register(self) -> None:
        self._sio.on("connect", self.on_connect, namespace=NAMESPACE)
        self._sio.on("disconnect", self.on_disconnect, namespace=NAMESPACE)
        actions: Mapping[str, _Action] = {
            "conversation.start": self._conversation_start,
            "message.send": self._message_send,
            "typing": self._typing,
            "read": self._read,
            "sync": self._sync,
            "context.update": self._context_update,
            "conversation.end": self._conversation_end,
            "transcript.request": self._transcript_request,
            "offline.leave": self._offline_leave,
            "threads.list": self._threads_list,
            "visitor.identify": self._identify,
        }
        for event, action in actions.items():
            self._sio.on(event, self._handler(event, action), namespace=NAMESPACE)
        self._sio.on("*", self.on_unknown_event, namespace=NAMESPACE)

    @property
    def socket_count(self) -> int:
        return len(self._sockets)

    @property
    def visitor_count(self) -> int:
        """Distinct visitors with at least one socket here (for ``/metrics``)."""
        return len({state.visitor_id for state in self._sockets.values()})

    @property
    def counted_sockets(self) -> int:
        """Sockets held against the caps on open sockets: ``socket_count`` once no
        connect is running."""
        return len(self._open)

    # -- connection -----------------------------------------------------------------

    async def on_connect(self, sid: str, environ: object, auth: object = None) -> None:
        counted_address: str | None = None
        counted_visitor: VisitorId | None = None
        try:
            self._drain.refuse_new("connect")
            address = self._client_address(environ)
            await self._limits.connection(address)
            parsed = payloads.parse_auth(auth)
            self._open.add_address(address)
            counted_address = address
            session = await self._open_session(parsed, address)
            self._open.add_visitor(session.visitor.id)
            counted_visitor = session.visitor.id
            await self._join_and_greet(sid, session)
            if not self._connection_open(sid):
                # python-socketio skips the disconnect handler of a socket whose connect
                # is still running, so nothing would ever forget this one.
                raise _LeftWhileConnectingError
            # Registered last: no client event can arrive before this handler returns,
            # and a refused connect leaves nothing behind.
            self._sockets[sid] = _VisitorSocket(
                sid=sid, tenant_id=session.tenant.id, visitor_id=session.visitor.id, address=address
            )
        except BaseException as exc:
            # Whatever ends the connect (a refusal, cancellation), its counts go with it.
            if counted_visitor is not None:
                self._open.remove_visitor(counted_visitor)
            if counted_address is not None:
                self._open.remove_address(counted_address)
            if isinstance(exc, _LeftWhileConnectingError):
                logger.info("socket %s closed before its connect completed", sid)
                body = {"code": UNAVAILABLE, "message": "the connection closed; reconnect"}
                raise ConnectRefused(body) from None
            if isinstance(exc, Exception):
                raise ConnectRefused(error_body(exc, context=f"connect of socket {sid}")) from exc
            raise
        logger.info(
            "visitor %s connected on socket %s (tenant %s, %s)",
            session.visitor.id,
            sid,
            session.tenant.id,
            "new" if session.is_new else "returning",
        )

    async def _open_session(self, parsed: payloads.ConnectAuth, address: str) -> VisitorSession:
        """The visitor's session. A new visitor is created only within the new-visitor
        limit, which is checked before anything is written."""
        if parsed.visitor_token is not None:
            try:
                return await self._services.sessions.open_session(
                    c.OpenSession(
                        tenant_id=parsed.tenant_id,
                        visitor_token=parsed.visitor_token,
                        create_unknown=False,
                        identity=parsed.identity,
                    )
                )
            except UnknownVisitor:
                pass  # expired, or the database was reset: a new visitor, with a new token
        await self._limits.new_visitor(address)
        return await self._services.sessions.open_session(
            c.OpenSession(tenant_id=parsed.tenant_id, identity=parsed.identity)
        )

    def _connection_open(self, sid: str) -> bool:
        """Whether the Engine.IO connection of ``sid`` is still open (see
        ``presentation.output_bound`` on reading ``sio.eio.sockets``)."""
        eio_sid = self._sio.manager.eio_sid_from_sid(sid, NAMESPACE)
        socket = None if eio_sid is None else self._sio.eio.sockets.get(eio_sid)
        return socket is not None and not socket.closing and not socket.closed

    def _client_address(self, environ: object) -> str:
        request = environ.get("aiohttp.request") if isinstance(environ, dict) else None
        if not isinstance(request, web.BaseRequest):
            return self._limits.address(None, ())
        return self._limits.address(request.remote, request.headers.getall("X-Forwarded-For", ()))

    async def _join_and_greet(self, sid: str, session: VisitorSession) -> None:
        await self._sio.enter_room(sid, visitor_room(session.visitor.id), namespace=NAMESPACE)
        for summary in session.conversations:
            if summary.state is not ConversationState.ENDED:
                await self._sio.enter_room(sid, conversation_room(summary.id), namespace=NAMESPACE)
        # Emitted before the connect completes: both the JavaScript and the Python client
        # hold events that arrive before CONNECT and deliver them right after it, so
        # `session` is always the first thing a client sees.
        await self._sio.emit("session", self._session_to_wire(session), to=sid, namespace=NAMESPACE)

    async def on_disconnect(self, sid: str, reason: object = None) -> None:
        state = self._sockets.pop(sid, None)
        if state is not None:
            self._open.remove_visitor(state.visitor_id)
            self._open.remove_address(state.address)
            logger.info(
                "visitor %s disconnected from socket %s (%s)", state.visitor_id, sid, reason
            )

    async def on_unknown_event(self, event: str, sid: str, *args: object) -> Json:
        error: Exception = InvalidInput(f"unknown event {event[:50]!r}")
        state = self._sockets.get(sid)
        if state is not None:
            try:
                self._limits.event(state.visitor_id)  # refusals cost like any event
            except RateLimited as exc:
                error = exc
        await self._output.keeps_up(sid)
        return error_ack(error, context=event)

    def _session_to_wire(self, session: VisitorSession) -> Json:
        return {
            "visitor_id": session.visitor.id,
            "visitor_token": session.visitor_token,
            "conversations": [
                {
                    "id": summary.id,
                    "state": summary.state.value,
                    "mode": MESSAGING_MODE
                    if summary.queue in session.messaging_queues
                    else CONVERSATION_MODE,
                    "last_seq": summary.last_seq,
                    "unread": summary.unread,
                    "queue": summary.queue,
                    "locked": summary.locked,
                }
                for summary in session.conversations
            ],
            "config": {
                "title": self._settings.widget_title,
                "tenant_name": session.tenant.name,
                "max_text_length": self._services.limits.max_text_length,
                "transcript_mail": self._services.transcript_requests.available,
                "messaging_queues": list(session.messaging_queues),
                "default_queue": DEFAULT_QUEUE,
            },
        }

    # -- client events --------------------------------------------------------------

    def _handler(self, event: str, action: _Action) -> Callable[..., Awaitable[Json]]:
        async def handle(sid: str, *args: object) -> Json:
            return await self._run(sid, event, args, action)

        handle.__name__ = f"on_{event.replace('.', '_')}"
        return handle

    async def _run(self, sid: str, event: str, args: tuple[object, ...], action: _Action) -> Json:
        state = self._sockets.get(sid)
        try:
            with self._drain.event():
                if state is None or not await self._output.keeps_up(sid):
                    raise Unavailable("this connection is closing; reconnect and retry")
                self._limits.event(state.visitor_id)
                ack: Json = {"ok": True, **await action(state, payloads.single_payload(args))}
        except Exception as exc:
            ack = error_ack(exc, context=f"{event} from socket {sid}{_conversation_hint(args)}")
        # Checked again as the reply is about to be queued: a client that stopped reading
        # is cut off here instead of being handed one more reply it will never read.
        await self._output.keeps_up(sid)
        return ack

    async def _conversation_start(self, state: _VisitorSocket, payload: object) -> Json:
        cmd = payloads.parse_conversation_start(payload, state.visitor_id)
        self._drain.refuse_new("start the conversation")
        await self._limits.conversation_change(state.visitor_id)
        conversation = await self._services.conversations.start_conversation(cmd)
        if self._sockets.get(state.sid) is not state:
            # The socket went away while the start was committing. Entering a room now
            # would fail, and python-socketio would leave the room behind, empty, for
            # good. The conversation is stored; the client finds it in its next
            # `session` and syncs from there.
            logger.info("socket %s left before joining conversation %s", state.sid, conversation.id)
        elif conversation.is_open:
            await self._sio.enter_room(
                state.sid, conversation_room(conversation.id), namespace=NAMESPACE
            )
        return {"conversation": conversation_to_wire(conversation)}

    async def _threads_list(self, state: _VisitorSocket, payload: object) -> Json:
        payloads.parse_threads_list(payload)
        threads = await self._services.threads.threads(state.visitor_id)
        return {"threads": [thread_to_wire(thread) for thread in threads]}

    async def _message_send(self, state: _VisitorSocket, payload: object) -> Json:
        cmd = payloads.parse_message_send(payload, state.visitor_id)
        if isinstance(cmd, AnswerRichMessage):  # a choice from a rich message
            message = await self._services.rich_replies.answer(cmd)
        else:
            if cmd.attachments:
                refs = await self._services.files.visitor_attachments(
                    cmd.visitor_id, cmd.conversation_id, cmd.attachments
                )
                cmd = dataclasses.replace(cmd, attachments=refs)
            message = await self._services.messaging.send_visitor_message(cmd)
        return {"message": message_ack_to_wire(message)}

    async def _typing(self, state: _VisitorSocket, payload: object) -> Json:
        await self._services.messaging.set_visitor_typing(
            payloads.parse_typing(payload, state.visitor_id)
        )
        return {}

    async def _read(self, state: _VisitorSocket, payload: object) -> Json:
        await self._services.messaging.mark_visitor_read(
            payloads.parse_read(payload, state.visitor_id)
        )
        return {}

    async def _sync(self, state: _VisitorSocket, payload: object) -> Json:
        cmd = payloads.parse_sync(payload, state.visitor_id)
        self._limits.sync(state.visitor_id)
        result = await self._services.history.sync(cmd)
        # A reply is capped twice: in events by business (Limits.max_sync_events) and in
        # bytes here, since a few small requests must not make large replies pile up.
        # Events over event_inline_max_bytes go as references (presentation.event_refs).
        events, cut = self._refs.sync_reply(result.events, self._settings.sync_reply_max_bytes)
        # Not in PROTOCOL.md v1 (additive): sync again from the last seq in this reply.
        return {"events": events, "has_more": result.has_more or cut}

    async def _context_update(self, state: _VisitorSocket, payload: object) -> Json:
        await self._services.conversations.update_context(
            payloads.parse_context_update(payload, state.visitor_id)
        )
        return {}

    async def _identify(self, state: _VisitorSocket, payload: object) -> Json:
        cmd = payloads.parse_identify(payload, state.visitor_id)
        done = await self._services.visitor_identify.identify(cmd)
        return {"changed": [key for key, _ in done.changes], "conversations": done.conversations}

    async def _conversation_end(self, state: _VisitorSocket, payload: object) -> Json:
        cmd = payloads.parse_conversation_end(payload, state.visitor_id)
        await self._limits.conversation_change(state.visitor_id)
        await self._services.conversations.end_by_visitor(cmd)
        return {}

    async def _transcript_request(self, state: _VisitorSocket, payload: object) -> Json:
        cmd = payloads.parse_transcript_request(payload, state.visitor_id)
        # Each request may send a mail anywhere: it costs like a start or an end.
        await self._limits.conversation_change(state.visitor_id)
        await self._services.transcript_requests.request(cmd)
        return {}

    async def _offline_leave(self, state: _VisitorSocket, payload: object) -> Json:
        cmd = payloads.parse_offline_leave(payload, state.visitor_id)
        self._drain.refuse_new("send the message")
        # It opens a conversation, whatever the queue's hours: it costs like a start.
        await self._limits.conversation_change(state.visitor_id)
        conversation = await self._services.offline_messages.leave(cmd)
        # An ended one needs no room (see ``SocketIoVisitorNotifier``, which closes them).
        if conversation.is_open and self._sockets.get(state.sid) is state:
            await self._sio.enter_room(
                state.sid, conversation_room(conversation.id), namespace=NAMESPACE
            )
        return {"conversation": conversation_to_wire(conversation)}


def _conversation_hint(args: tuple[object, ...]) -> str:
    """`` in conversation <id>`` for log lines, when the payload names one."""
    if len(args) == 1 and isinstance(args[0], dict):
        value = args[0].get("conversation_id")
        if isinstance(value, str):
            return f" in conversation {ConversationId(value[:128])}"
    return ""
