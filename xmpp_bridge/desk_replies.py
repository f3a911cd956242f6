"""Conversation commands that answer with what the engine knows or did: ``!canned``,
``!info``, ``!history [n]``, ``!hold``, ``!unhold``. Each returns the text of the answer
(the dispatcher sends it in the same window); refusals are domain errors, answered at the
edge like any other."""

from __future__ import annotations

from business.commands import HoldChat as Hold, SendAgentMessage, UnholdChat as Unhold
from business.errors import Forbidden, InvalidInput, NotFound
from business.model import Agent, ConversationId
from business.services import Services
from business.visitor_profile import DEFAULT_MESSAGES
from xmpp_bridge import texts, texts_rich, texts_visitor
from xmpp_bridge.custom import HoldChat, UnholdChat


async def canned(
    services: Services, agent: Agent, cid: ConversationId, name: str, client_msg_id: str | None
) -> str:
    """List the canned responses of the conversation's queue, or send one to the visitor
    as the agent's message (stored once per stanza, like typed text)."""
    conversation = await services.conversations.get_conversation(cid)
    if conversation.agent_id != agent.id:
        raise Forbidden(texts.NOT_THE_AGENT)
    if not name:
        found = await services.canned.list(conversation.tenant_id, conversation.queue)
        entries = [(r.name, r.text) for r in found]
        return texts.canned_list(entries) if entries else texts.NO_CANNED
    response = await services.canned.find(conversation.tenant_id, conversation.queue, name)
    if response is None:
        raise NotFound(texts.unknown_canned(name))
    text = services.canned.render(
        response.text,
        visitor=conversation.visitor_name,
        agent=agent.name,
        queue=conversation.queue,
    )
    await services.messaging.send_agent_message(
        SendAgentMessage(
            agent_id=agent.id,
            conversation_id=cid,
            text=text,
            client_msg_id=client_msg_id,
            rich=response.rich,
        )
    )
    # The agent's window shows only what they typed: say what the visitor got (a rich
    # response's choices numbered as the visitor's answer will report them).
    return texts.canned_sent(texts_rich.with_rich(text, response.rich))


async def info(services: Services, agent: Agent, cid: ConversationId) -> str:
    return texts_visitor.visitor_info(await services.visitor_profile.info(agent.id, cid))


async def history(services: Services, agent: Agent, cid: ConversationId, count: str) -> str:
    messages = DEFAULT_MESSAGES
    if count.strip():
        if not count.strip().isdigit():
            raise InvalidInput("write !history or !history <number of messages>")
        messages = int(count.strip())
    past = await services.visitor_profile.history(agent.id, cid, messages)
    return texts_visitor.visitor_history(past, services.files.links.lasting)


async def hold(services: Services, agent: Agent, command: HoldChat | UnholdChat) -> str:
    """``!hold`` parks the chat, ``!unhold`` takes it back; refusals say why."""
    cid = command.conversation_id
    if isinstance(command, HoldChat):
        await services.hold.hold(Hold(agent_id=agent.id, conversation_id=cid))
        return texts.CHAT_ON_HOLD
    await services.hold.unhold(Unhold(agent_id=agent.id, conversation_id=cid))
    return texts.CHAT_OFF_HOLD
