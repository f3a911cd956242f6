"""``/channels/api/messages``: a visitor's message from another messaging service (SMS,
WhatsApp ...), handed in by the integrator's bridge (``business.api_channel``).

What agents and bots answer goes back out by the webhooks (``message.created``, whose
``data`` names the channel, the provider and the visitor's address), so a bridge is a
webhook receiver plus this one call.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from business.api_channel import (
    MAX_EXTERNAL_ID_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PROVIDER_MESSAGE_ID_LENGTH,
    ReceiveApiMessage,
)
from business.email_addresses import MAX_LENGTH as EMAIL_MAX
from business.model import QueueName
from presentation.api.conversation_models import ConversationOut, conversation_out
from presentation.api.event_models import MessageEvent, message_out
from presentation.api.fields import QueueName as QueueNameField
from presentation.api.media import Answer
from presentation.api.registry import ADMINS_AND_BOTS, Body, Call, Empty, Resource

resource = Resource(
    "channels",
    "Other messaging services (SMS, WhatsApp...) bridged by you: their visitors' messages "
    "come in here and start or continue a conversation that goes through the same queues, "
    "bots, agents and reports as the widget's; what agents and bots answer goes out by the "
    "webhooks, which name the channel, the provider and the visitor's address.",
)

PROVIDER_PATTERN = r"^[a-z0-9_-]{1,32}$"
PROVIDER_MESSAGE_ID_PATTERN = rf"^[ -~]{{1,{MAX_PROVIDER_MESSAGE_ID_LENGTH}}}$"


class ApiMessageCreate(Body):
    queue: QueueNameField = Field(
        description="where a new conversation starts; a message of a visitor with an open "
        "conversation goes there, in whatever queue it is now"
    )
    external_id: str = Field(
        min_length=1,
        max_length=MAX_EXTERNAL_ID_LENGTH,
        description="the visitor's address on the service (a phone number, a chat id): "
        "one visitor per address and provider",
    )
    provider: str | None = Field(
        None,
        pattern=PROVIDER_PATTERN,
        description="your label of the service, shown to the agents (`sms`, `whatsapp`)",
    )
    provider_message_id: str = Field(
        pattern=PROVIDER_MESSAGE_ID_PATTERN,
        description="the service's id of the message: sent again, it is stored once",
    )
    text: str = Field(description="at most the engine's `limits.max_text_length` (4000)")
    name: str | None = Field(
        None,
        max_length=MAX_NAME_LENGTH,
        description="the visitor's name, for a new conversation (as the pre-chat form's)",
    )
    email: str | None = Field(
        None,
        max_length=EMAIL_MAX,
        description="the visitor's e-mail address, for a new conversation (transcripts)",
    )


class ApiMessageOut(BaseModel):
    conversation: ConversationOut
    message: MessageEvent = Field(
        description="the visitor's message as stored; its `client_msg_id` is "
        "`api:` and the `provider_message_id`"
    )


@resource.route(
    "POST",
    "/channels/api/messages",
    summary="Hand in a visitor's message from another messaging service",
    scopes=ADMINS_AND_BOTS,
    params=Empty,
    query=Empty,
    body=ApiMessageCreate,
    response=ApiMessageOut,
    status=201,
    also=(200,),
    errors=(404, 409),
)
async def post_api_channel_message(
    call: Call[Empty, Empty, ApiMessageCreate],
) -> ApiMessageOut | Answer[ApiMessageOut]:
    """Goes to the visitor's open conversation (one visitor per `provider` and
    `external_id`), or starts one in `queue` exactly as the widget does: with the
    queue's bot, or routed to an agent, whose offer says which service the visitor
    writes from. 201 when the message is stored; 200 with the same conversation and
    message when `provider_message_id` was stored before (a retry; nothing is stored or
    sent twice). An unknown `queue` is 404, a full one 409 `queue_full` (retry later), one outside
    its opening hours 409 `queue_closed` (`opens_at` says when it opens next).
    The conversation ends only by an agent, a bot or `POST /conversations/{id}/end`:
    the visitor has no window to close."""
    body = call.body
    received = await call.services.api_channel.receive(
        ReceiveApiMessage(
            tenant_id=call.tenant_id,
            queue=QueueName(body.queue),
            external_id=body.external_id,
            provider=body.provider,
            provider_message_id=body.provider_message_id,
            text=body.text,
            name=body.name,
            email=body.email,
        )
    )
    out = ApiMessageOut(
        conversation=conversation_out(received.conversation),
        message=message_out(received.message, call.services.files.links.lasting),
    )
    return out if received.created else Answer(body=out, status=200)
