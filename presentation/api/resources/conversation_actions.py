"""``/conversations/{id}/messages``, ``/end``, ``/transfer``: what an integrator or an
external bot does in a conversation of the key's tenant, acting as a bot or as the
system (never as an agent or the visitor).

Through ``IntegratorMessageService`` and ``IntegratorControlService``, the same paths
the visitor's and the agents' own messages, ends and transfers take. The routes are
the ``conversations`` resource's (``resources.conversations``), in a module of their
own because they change things.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import ConfigDict, Field, model_validator

from business.bot_config import MAX_LABEL, MAX_MENU
from business.bot_model import QuickReply
from business.integrator_commands import (
    SYSTEM,
    EndByIntegrator,
    PostIntegratorMessage,
    TransferByIntegrator,
)
from business.model import ConversationId, Participant, ParticipantKind, QueueName
from business.rich import parse_rich
from business.validation import NAME_MAX
from presentation.api.bot_fields import OPTION_ID_PATTERN
from presentation.api.conversation_models import ConversationOut, conversation_out
from presentation.api.event_models import MessageEvent, message_out
from presentation.api.fields import OptionalBody, QueueName as QueueNameField
from presentation.api.media import Answer
from presentation.api.new_messages import NEW_MESSAGES
from presentation.api.registry import ADMINS_AND_BOTS, Body, Call, Empty, Resource
from presentation.api.resources.conversations import ConversationPath

resource = Resource("conversations", "")
"""Shown under the ``conversations`` tag with the reads (its description is theirs)."""

CLIENT_MSG_ID_PATTERN = r"^[!-~]{1,100}$"
NOTE_MAX = 4000
"""What the schema admits of a reason or note; the engine's `limits.max_text_length`
(4000 by default) is the bound it enforces."""


class ActorIn(Body):
    """Who acts: a bot or the system, under the name the visitor and the agents see."""

    kind: Literal["bot", "system"]
    name: str = Field(min_length=1, max_length=NAME_MAX)
    id: str | None = Field(
        None,
        min_length=1,
        max_length=NAME_MAX,
        description="your bot's own id, stored with what it does; the visitor and the "
        "agents never see it",
    )

    def participant(self) -> Participant:
        return Participant(kind=ParticipantKind(self.kind), name=self.name, id=self.id)


class QuickReplyIn(Body):
    id: str = Field(pattern=OPTION_ID_PATTERN)
    label: str = Field(min_length=1, max_length=MAX_LABEL)


class MessageCreate(Body):
    client_msg_id: str = Field(
        pattern=CLIENT_MSG_ID_PATTERN,
        description="your id for this message, 1-100 printable ASCII characters: send it "
        "again with the same id until you get an answer, and it is stored once",
    )
    sender: ActorIn
    text: str = Field(
        default="", description="at most the engine's `limits.max_text_length` (4000)"
    )
    attachments: list[str] = Field(
        default=[], description="files by http(s) URL; `text` may then be empty"
    )
    quick_replies: list[QuickReplyIn] = Field(
        default=[],
        max_length=MAX_MENU,
        description="a bot's buttons under the message (a click sends the label as the "
        "visitor's message); the system's messages have none",
    )
    rich: dict[str, Any] | None = Field(
        None,
        description="rich content under the message: exactly one of `quick_replies`, "
        "`buttons`, `card`, `carousel` or `list_picker` (see the integrator guide); the "
        "visitor answers with a message carrying the chosen payload",
    )


class EndBody(Body):
    reason: str | None = Field(
        None,
        max_length=NOTE_MAX,
        description="kept with the end for the agents and reports (as a wrap-up note); "
        "the visitor does not see it",
    )
    actor: ActorIn | None = Field(
        None, description='left out: `{"kind": "system", "name": "System"}`'
    )


class TransferBody(OptionalBody):
    """Exactly one of `queue` and `agent_address`."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"oneOf": [{"required": ["queue"]}, {"required": ["agent_address"]}]},
    )

    queue: QueueNameField | None = Field(None, description="hand it to this queue")
    agent_address: str | None = Field(
        None,
        min_length=3,
        max_length=1023,
        description="offer it to the agent with this XMPP address (ready, with a free place)",
    )
    note: str | None = Field(
        None, max_length=NOTE_MAX, description="shown to the agent it is offered to"
    )
    actor: ActorIn | None = Field(
        None, description='left out: `{"kind": "system", "name": "System"}`'
    )

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.queue is None) == (self.agent_address is None):
            raise ValueError("give either queue or agent_address")
        return self


@resource.route(
    "POST",
    "/conversations/{conversation_id}/messages",
    summary="Write in a conversation as a bot or the system",
    scopes=ADMINS_AND_BOTS,
    params=ConversationPath,
    query=Empty,
    body=MessageCreate,
    response=MessageEvent,
    status=201,
    also=(200,),
    errors=(409,),
)
async def post_conversation_message(
    call: Call[ConversationPath, Empty, MessageCreate],
) -> MessageEvent | Answer[MessageEvent]:
    """The visitor gets it from `{"kind": "bot"}` (or `system`) with the sender's name,
    the agents in the chat as `[Name] text`; it takes the next `seq`. 201 when it is
    stored; 200 with the very same message when `client_msg_id` was stored before (a
    retry: nothing is stored or sent twice, even once the conversation has ended). An
    id another sender's message in the conversation has is refused (400). A new message
    to an ended conversation is 409 `conflict`."""
    body = call.body
    conversation_id = ConversationId(call.params.conversation_id)
    with call.request.app[NEW_MESSAGES].watching(conversation_id) as published:
        message = await call.services.integrator_messages.post(
            PostIntegratorMessage(
                tenant_id=call.tenant_id,
                conversation_id=conversation_id,
                sender=body.sender.participant(),
                client_msg_id=body.client_msg_id,
                text=body.text,
                attachments=tuple(body.attachments),
                quick_replies=tuple(
                    QuickReply(id=reply.id, label=reply.label) for reply in body.quick_replies
                ),
                rich=None if body.rich is None else parse_rich(body.rich),
            )
        )
    out = message_out(message, call.services.files.links.lasting)
    return out if message.id in published else Answer(body=out, status=200)


@resource.route(
    "POST",
    "/conversations/{conversation_id}/end",
    summary="End a conversation",
    scopes=ADMINS_AND_BOTS,
    params=ConversationPath,
    query=Empty,
    body=EndBody,
    response=ConversationOut,
)
async def end_conversation(call: Call[ConversationPath, Empty, EndBody]) -> ConversationOut:
    """As every end goes: an open offer is withdrawn, the agent leaves visibly, the
    visitor sees the end, the freed place goes to the next visitor, and its report is
    stored. Ending an ended conversation changes nothing and answers it (a retry
    succeeds). The body may be left out."""
    actor = call.body.actor
    ended = await call.services.integrator_control.end(
        EndByIntegrator(
            tenant_id=call.tenant_id,
            conversation_id=ConversationId(call.params.conversation_id),
            actor=SYSTEM if actor is None else actor.participant(),
            reason=call.body.reason,
        )
    )
    return conversation_out(ended)


@resource.route(
    "POST",
    "/conversations/{conversation_id}/transfer",
    summary="Transfer a conversation to a queue or an agent",
    scopes=ADMINS_AND_BOTS,
    params=ConversationPath,
    query=Empty,
    body=TransferBody,
    response=ConversationOut,
    errors=(409,),
)
async def transfer_conversation(
    call: Call[ConversationPath, Empty, TransferBody],
) -> ConversationOut:
    """To a queue: the agent leaves (visibly), the chat waits there for the next agent,
    transcript and all (a bot hands over this way). To an agent: it is offered to them
    (as a colleague's transfer, with your note); taken, it is theirs. Answers the
    conversation as the transfer left it (waiting in the queue, or with the offer to the
    agent open); the router may offer a queued one to an agent right after. 404: no such queue or
    agent in your tenant; 409: the conversation has ended, the agent is not ready or
    has no free place, or has it already."""
    body = call.body
    transferred = await call.services.integrator_control.transfer(
        TransferByIntegrator(
            tenant_id=call.tenant_id,
            conversation_id=ConversationId(call.params.conversation_id),
            actor=SYSTEM if body.actor is None else body.actor.participant(),
            queue=None if body.queue is None else QueueName(body.queue),
            agent_address=body.agent_address,
            note=body.note,
        )
    )
    return conversation_out(transferred)
