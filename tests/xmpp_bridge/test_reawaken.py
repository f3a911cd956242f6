"""``chats`` at the engine's JID lists the agent's parked threads (on hold) and, apart,
the held chats waiting in the queue for them alone (``business.reawaken``)."""

from __future__ import annotations

from datetime import timedelta

from business import commands as c
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, ConversationState
from tests.harness import World
from tests.xmpp_bridge.support import ALICE, harness
from tests.xmpp_bridge.test_engine_words import ask
from xmpp_bridge import texts, texts_reawaken


async def test_chats_lists_parked_threads_and_those_kept_for_the_agent(world: World) -> None:
    h = harness(world)
    await world.agent(ALICE, max_chats=3)
    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, mode="messaging")
    )
    thread = await world.start(await world.visitor(), "A question")
    world.advance(1)  # listed oldest first
    opened = await world.services.outbound_threads.open_thread(
        c.OpenThread(agent_id=ALICE, conversation_id=thread.id, text="News for you")
    )
    await h.delivered()
    thread_jid, opened_jid = (f"c-{cid}@chat.localhost" for cid in (thread.id, opened.id))
    assert await ask(h, "chats") == texts.engine_chats(
        [(thread_jid, "Vera", "support", False), (opened_jid, "Vera", "support", False)],
        parked={opened_jid},
    )

    # Alice is away when the visitor answers the parked thread: it waits for her.
    await world.agents.set_availability(c.SetAgentAvailability(agent_id=ALICE, ready=False))
    await world.visitor_says(opened.visitor_id, opened.id, "Thanks, one more thing")
    assert world.conv(opened.id).state is ConversationState.QUEUED
    await h.delivered()
    world.advance(30)

    reply = await ask(h, "chats")

    assert reply == (
        texts.engine_chats([(thread_jid, "Vera", "support", False)])
        + "\n"
        + texts_reawaken.reserved_chats([(opened_jid, "Vera", "support", timedelta(seconds=90))])
    )
    assert reply.endswith(f"{opened_jid} - Vera (queue support) - kept for you, 1 min 30 s left")

    # Once its time is up it is anybody's, and no longer listed as hers.
    world.advance(90)
    assert await world.services.reawaken.end_due() == 1
    assert await ask(h, "chats") == texts.engine_chats([(thread_jid, "Vera", "support", False)])
