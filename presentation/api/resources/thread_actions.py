"""``/conversations/{id}/threads``: an integrator opens a new messaging thread to the
visitor of a conversation, in an agent's name (``business.outbound_threads``). Under the
``conversations`` tag, in a module of its own (messaging mode)."""

from __future__ import annotations

from pydantic import Field

from business.model import ConversationId
from business.outbound_threads import OpenThreadByIntegrator
from presentation.api.conversation_models import ConversationOut, conversation_out
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
