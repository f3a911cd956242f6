"""Strict parsing of what visitor clients send, into business commands.

Anything malformed raises ``business.errors.InvalidInput`` with a message naming the
offending field. Keys this version does not know are ignored on purpose: the protocol
grows by adding fields, and a newer widget must keep working against an older engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from business import commands as c
from business.errors import InvalidInput
from business.model import ConversationId, QueueName, TenantId, VisitorContext, VisitorId
from business.offline_messages import LeaveOfflineMessage
from business.rich_replies import AnswerRichMessage
from business.validation import check_storable
from business.visitor_identify import IdentifyVisitor
from presentation.visit_payloads import parse_trigger, visit_fields

_MAX_ID_LENGTH: Final = 128
_MAX_TENANT_LENGTH: Final = 64
# The largest integer a JavaScript number holds exactly; far below a 64-bit column's
# limit, so an absurd seq is refused here instead of overflowing in the database.
_MAX_INT: Final = 2**53 - 1


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectAuth:
    tenant_id: TenantId
    visitor_token: str | None
    identity: str | None = None
    """A signed identity token (JWT); checked by ``business.identities``."""


def single_payload(args: tuple[object, ...]) -> object:
    """The one payload argument every client event carries."""
    if len(args) != 1:
        raise InvalidInput(f"expected exactly one payload object, got {len(args)} arguments")
    return args[0]


def _object(payload: object, what: str = "payload") -> Mapping[str, object]:
    if not isinstance(payload, dict):
        raise InvalidInput(f"{what} must be a JSON object")
    for key in payload:
        if not isinstance(key, str):  # pragma: no cover - JSON keys are always strings
            raise InvalidInput(f"{what} keys must be strings")
    return payload


def _str(data: Mapping[str, object], key: str, what: str) -> str:
    if key not in data or data[key] is None:
        raise InvalidInput(f"{what}{key} is required")
    value = data[key]
    if not isinstance(value, str):
        raise InvalidInput(f"{what}{key} must be a string")
    check_storable(value, f"{what}{key}")
    return value


def _optional_str(data: Mapping[str, object], key: str, what: str) -> str | None:
    if data.get(key) is None:
        return None
    return _str(data, key, what)


def _int(data: Mapping[str, object], key: str, what: str = "") -> int:
    value = data.get(key)
    if value is None:
        raise InvalidInput(f"{what}{key} is required")
    # bool is an int in Python but never a sequence number on the wire.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{what}{key} must be an integer")
    if not -_MAX_INT <= value <= _MAX_INT:
        raise InvalidInput(f"{what}{key} is out of range")
    return value


def _string_map(data: Mapping[str, object], key: str, what: str) -> dict[str, str]:
    value = data.get(key)
    if value is None:
        return {}
    fields = _object(value, f"{what}{key}")
    result: dict[str, str] = {}
    for name, item in fields.items():
        check_storable(name, f"{what}{key} field names")
        if not isinstance(item, str):
            raise InvalidInput(f"{what}{key}.{name} must be a string")
        check_storable(item, f"{what}{key}.{name}")
        result[name] = item
    return result


def _conversation_id(data: Mapping[str, object]) -> ConversationId:
    value = _str(data, "conversation_id", "")
    if not value or len(value) > _MAX_ID_LENGTH:
        raise InvalidInput(f"conversation_id must be 1 to {_MAX_ID_LENGTH} characters")
    return ConversationId(value)


def _context(data: Mapping[str, object], what: str) -> VisitorContext:
    return VisitorContext(
        page_url=_optional_str(data, "page_url", what),
        page_title=_optional_str(data, "page_title", what),
        referrer=_optional_str(data, "referrer", what),
        custom=_string_map(data, "custom", what),
        **visit_fields(data, what),
    )


def parse_auth(auth: object) -> ConnectAuth:
    """The connect ``auth`` payload: ``{"tenant", "visitor_token"?, "identity"?}``."""
    if auth is None:
        raise InvalidInput("auth with a tenant is required")
    data = _object(auth, "auth")
    tenant = _str(data, "tenant", "auth.")
    if not tenant or len(tenant) > _MAX_TENANT_LENGTH:
        raise InvalidInput(f"auth.tenant must be 1 to {_MAX_TENANT_LENGTH} characters")
    identity = _optional_str(data, "identity", "auth.")
    return ConnectAuth(
        tenant_id=TenantId(tenant),
        visitor_token=_optional_str(data, "visitor_token", "auth."),
        identity=identity or None,
    )


def parse_conversation_start(payload: object, visitor_id: VisitorId) -> c.StartConversation:
    data = _object(payload)
    queue = _optional_str(data, "queue", "")
    if queue is not None and not queue:
        raise InvalidInput("queue must not be empty")
    context = data.get("context")
    message = data.get("message")
    first: c.FirstMessage | None = None
    if message is not None:
        fields = _object(message, "message")
        first = c.FirstMessage(
            client_msg_id=_str(fields, "client_msg_id", "message."),
            text=_str(fields, "text", "message."),
        )
    return c.StartConversation(
        visitor_id=visitor_id,
        queue=QueueName(queue) if queue is not None else None,
        form=_string_map(data, "form", ""),
        context=_context(_object(context, "context"), "context.")
        if context is not None
        else VisitorContext(),
        message=first,
        started_by=parse_trigger(data.get("trigger")),
        new_thread=_flag(data, "new_thread"),
    )


def parse_threads_list(payload: object) -> None:
    """``threads.list`` takes no fields yet: an object, like every event's payload."""
    _object(payload)


def _flag(data: Mapping[str, object], name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} must be true or false")
    return value


def parse_message_send(
    payload: object, visitor_id: VisitorId
) -> c.SendVisitorMessage | AnswerRichMessage:
    data = _object(payload)
    attachments = data.get("attachments", [])
    if not isinstance(attachments, list) or not all(isinstance(a, str) for a in attachments):
        raise InvalidInput("attachments must be a list of file ids (from the upload endpoint)")
    reply_to = data.get("reply_to")
    if reply_to is not None:
        return parse_rich_answer(
            _object(reply_to, "reply_to"),
            visitor_id=visitor_id,
            conversation_id=_conversation_id(data),
            client_msg_id=_str(data, "client_msg_id", ""),
        )
    return c.SendVisitorMessage(
        visitor_id=visitor_id,
        conversation_id=_conversation_id(data),
        client_msg_id=_str(data, "client_msg_id", ""),
        text=_str(data, "text", ""),
        # File ids here; the namespace turns them into the visitor's own files' refs
        # (business.files.visitor_attachments) before the message is sent.
        attachments=tuple(attachments),
    )


def parse_rich_answer(
    reply_to: Mapping[str, object],
    *,
    visitor_id: VisitorId,
    conversation_id: ConversationId,
    client_msg_id: str,
) -> AnswerRichMessage:
    """``reply_to: {"seq", "payload": string | [string, …]}``: the visitor's choice (the
    message's ``text``, if any, is not used: the stored text is the chosen labels)."""
    value = reply_to.get("payload")
    payloads = [value] if isinstance(value, str) else value
    if not isinstance(payloads, list) or not all(isinstance(p, str) for p in payloads):
        raise InvalidInput("reply_to.payload must be a string or a list of strings")
    for payload in payloads:
        check_storable(payload, "reply_to.payload")
    return AnswerRichMessage(
        visitor_id=visitor_id,
        conversation_id=conversation_id,
        client_msg_id=client_msg_id,
        seq=_int(reply_to, "seq", "reply_to."),
        payloads=tuple(payloads),
    )


def parse_typing(payload: object, visitor_id: VisitorId) -> c.SetVisitorTyping:
    data = _object(payload)
    conversation_id = _conversation_id(data)
    state = data.get("state")
    if state not in ("composing", "paused"):
        raise InvalidInput('state must be "composing" or "paused"')
    return c.SetVisitorTyping(
        visitor_id=visitor_id, conversation_id=conversation_id, composing=state == "composing"
    )


def parse_read(payload: object, visitor_id: VisitorId) -> c.MarkVisitorRead:
    data = _object(payload)
    return c.MarkVisitorRead(
        visitor_id=visitor_id, conversation_id=_conversation_id(data), seq=_int(data, "seq")
    )


def parse_sync(payload: object, visitor_id: VisitorId) -> c.SyncEvents:
    data = _object(payload)
    return c.SyncEvents(
        visitor_id=visitor_id,
        conversation_id=_conversation_id(data),
        after_seq=_int(data, "after_seq"),
    )


def parse_context_update(payload: object, visitor_id: VisitorId) -> c.UpdateContext:
    return c.UpdateContext(visitor_id=visitor_id, context=_context(_object(payload), ""))


def parse_conversation_end(payload: object, visitor_id: VisitorId) -> c.EndConversationByVisitor:
    data = _object(payload)
    return c.EndConversationByVisitor(visitor_id=visitor_id, conversation_id=_conversation_id(data))


def parse_transcript_request(payload: object, visitor_id: VisitorId) -> c.RequestTranscript:
    """``{"conversation_id", "email"?}``; the address is checked by the use case."""
    data = _object(payload)
    email = _optional_str(data, "email", "")
    return c.RequestTranscript(
        visitor_id=visitor_id,
        conversation_id=_conversation_id(data),
        email=email if email is None or email.strip() else None,
    )


def parse_offline_leave(payload: object, visitor_id: VisitorId) -> LeaveOfflineMessage:
    """``{"client_msg_id", "name", "email", "text", "queue"?, "context"?}``; the values
    are checked by the use case (``business.offline_messages``)."""
    data = _object(payload)
    queue = _optional_str(data, "queue", "")
    if queue is not None and not queue:
        raise InvalidInput("queue must not be empty")
    context = data.get("context")
    return LeaveOfflineMessage(
        visitor_id=visitor_id,
        client_msg_id=_str(data, "client_msg_id", ""),
        name=_str(data, "name", ""),
        email=_str(data, "email", ""),
        text=_str(data, "text", ""),
        queue=QueueName(queue) if queue is not None else None,
        context=_context(_object(context, "context"), "context.")
        if context is not None
        else VisitorContext(),
    )


_IDENTIFY_KEYS: Final = frozenset({"name", "email", "avatar", "extra"})


def parse_identify(payload: object, visitor_id: VisitorId) -> IdentifyVisitor:
    """``{"name"?, "email"?, "avatar"?, "extra"?: {...}}``; the values are checked by
    the use case (``business.visitor_identify``). Anything else is refused, a ``sub``
    above all: who the visitor is comes only from a signed identity at a connect."""
    data = _object(payload)
    unknown = sorted(set(data) - _IDENTIFY_KEYS)
    if "sub" in unknown or "token" in unknown:
        raise InvalidInput(
            "visitor.identify cannot change who the visitor is: connect with a signed "
            "identity (auth.identity) for that"
        )
    if unknown:
        raise InvalidInput(
            f"visitor.identify takes name, email, avatar and extra, not {unknown[0]}"
        )
    extra = data.get("extra")
    return IdentifyVisitor(
        visitor_id=visitor_id,
        name=_optional_str(data, "name", ""),
        email=_optional_str(data, "email", ""),
        avatar=_optional_str(data, "avatar", ""),
        extra={} if extra is None else dict(_object(extra, "extra")),
    )
