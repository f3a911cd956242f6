"""``/conversations/{id}/threads`` and ``/threads``: an integrator opens a new messaging
thread to the visitor of a conversation (``business.outbound_threads``), or to a visitor
named by id or signed ``sub`` (``business.outbound_visitors``), in an agent's name. Under
the ``conversations`` tag, in a module of its own (messaging mode)."""

from __future__ import annotations

from typing import Self

from pydantic import ConfigDict, Field, model_validator

from business.identity_model import MAX_SUB
from business.model import ApiKeyScope, ConversationId, QueueName, VisitorId
from business.outbound_threads import OpenThreadByIntegrator
from business.outbound_visitors import OpenThreadToVisitor
from presentation.api.conversation_models import ConversationOut, conversation_out
from presentation.api.fields import EntityId, QueueName as QueueNameField
from presentation.api.registry import ADMINS_AND_BOTS, Body, Call, Empty, Resource
from presentation.api.resources.conversations import ConversationPath

resource = Resource("conversations", "")
"""Shown under the ``conversations`` tag with the reads (its description is theirs)."""


class ThreadCreate(Body):
    agent_address: str = Field(
        min_length=3,
        max_length=1023,
        description="the XMPP address of the agent of your tenant it is opened in the name "
        "of; the visitor's answer goes back to them",
    )
    text: str = Field(
        min_length=1, description="the first message; at most `limits.max_text_length` (4000)"
    )


@resource.route(
    "POST",
    "/conversations/{conversation_id}/threads",
    summary="Open a new messaging thread to the conversation's visitor",
    scopes=ADMINS_AND_BOTS,
    params=ConversationPath,
    query=Empty,
    body=ThreadCreate,
    response=ConversationOut,
    status=201,
    errors=(409,),
)
async def open_thread(call: Call[ConversationPath, Empty, ThreadCreate]) -> ConversationOut:
    """Messaging queues only (409 otherwise, and when the visitor has the most open
    threads there already). The new thread is in the conversation's queue, with the
    agent as its owner and `text` as their first message, and waits on hold (taking
    none of the agent's places): the visitor finds it in their thread list, and their
    answer brings it back to that agent, or to the queue. Its context is the
    conversation's, with `identity_initiated_thread` = `"false"`. 404: no such
    conversation or agent in your tenant."""
    opened = await call.services.outbound_threads.open_for_integrator(
        OpenThreadByIntegrator(
            tenant_id=call.tenant_id,
            conversation_id=ConversationId(call.params.conversation_id),
            agent_address=call.body.agent_address,
            text=call.body.text,
        )
    )
    return conversation_out(opened)


class VisitorThreadCreate(ThreadCreate):
    """Exactly one of `visitor_id` and `identity_sub`."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"oneOf": [{"required": ["visitor_id"]}, {"required": ["identity_sub"]}]},
    )

    queue: QueueNameField = Field(description="a messaging queue the agent is an agent of")
    visitor_id: EntityId | None = Field(None, description="the visitor's id")
    identity_sub: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_SUB,
        description="the `sub` of the visitor's signed identity, matched exactly; one nobody "
        "has signed in as yet gets its visitor now (identities must be on; an admin key "
        "only), who finds the thread at their first signed visit",
    )

    @model_validator(mode="after")
    def _one_visitor(self) -> Self:
        if (self.visitor_id is None) == (self.identity_sub is None):
            raise ValueError("give either visitor_id or identity_sub")
        return self


@resource.route(
    "POST",
    "/threads",
    summary="Open a new messaging thread to a known visitor",
    scopes=ADMINS_AND_BOTS,
    params=Empty,
    query=Empty,
    body=VisitorThreadCreate,
    response=ConversationOut,
    status=201,
    errors=(409,),
)
async def open_thread_to_visitor(call: Call[Empty, Empty, VisitorThreadCreate]) -> ConversationOut:
    """Outbound messaging to a visitor named by id or by their signed identity's `sub`,
    whether or not they ever chatted in `queue`: the thread is as the one
    `POST /conversations/{conversation_id}/threads` opens (the agent its owner, `text`
    their first message, on hold, unread in the visitor's thread list), with the
    context `identity_initiated_thread` = `"false"` and the visitor's mapped signed
    claims. 403: a new `identity_sub` with a bot key (a bot opens threads to existing
    visitors only; creating a visitor for a new `sub` takes an admin key). 404: no such
    agent, queue or visitor in your tenant. 409: a live queue, an
    agent who is not one of the queue's, a visitor with the most open threads there
    already, or a new `identity_sub` while signed identities are off."""
    body = call.body
    opened = await call.services.outbound_visitor_threads.open_thread(
        OpenThreadToVisitor(
            tenant_id=call.tenant_id,
            queue=QueueName(body.queue),
            agent_address=body.agent_address,
            text=body.text,
            visitor_id=None if body.visitor_id is None else VisitorId(body.visitor_id),
            sub=body.identity_sub,
            may_create_visitor=call.key.scope is ApiKeyScope.ADMIN,
        )
    )
    return conversation_out(opened)
