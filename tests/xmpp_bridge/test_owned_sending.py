"""Several engine processes (``xmpp_bridge.ownership``): the notifier sends a
conversation's stored events only while this process owns its delivery, even for work
queued before the ownership was lost."""

from __future__ import annotations

from business.model import ConversationId
from tests.harness import World
from tests.xmpp_bridge.support import (
    ALICE,
    BOB,
    BOB_JID,
    body_of,
    from_agent,
    harness,
    messages,
)
from xmpp_bridge.outbound import XmppAgentNotifier

BOB_CLIENT = "bob@localhost/desk"


async def test_work_queued_while_owning_sends_nothing_once_the_lease_lapsed(
    world: World,
) -> None:
    owned: set[ConversationId] = set()
    h = harness(world, connected=False)
    world.publisher.unsubscribe(h.notifier)
    notifier = XmppAgentNotifier(
        services=world.services, link=h.link, flush_interval=0.01, owns=owned.__contains__
    )
    await world.add_agent(ALICE, ready=True)
    visitor = await world.visitor()
    conversation = await world.start(visitor, "Hello")
    await world.visitor_says(visitor, conversation.id, "anyone?")
    h.link.attach(h.sender)
    owned.add(conversation.id)

    notifier.catch_up([conversation.id])  # queued on the conversation's lane
    owned.discard(conversation.id)  # the lease lapses before the lane runs
    await notifier.drain()
    assert messages(h.sender.take()) == []

    owned.add(conversation.id)  # claimed again
    notifier.catch_up([conversation.id])
    await notifier.drain()
    assert "anyone?" in [body_of(s) for s in messages(h.sender.take())]


async def test_a_catch_up_reaches_a_colleague_who_left_in_what_another_process_stored(
    world: World,
) -> None:
    """The owner catches up on events another process stored (a nudge): a colleague who
    left in them still gets what was theirs up to their leaving."""
    h = harness(world)
    await world.add_agent(ALICE, ready=True)
    conversation = await world.start(await world.visitor(), "I need help with a refund")
    await world.add_agent(BOB, ready=True, auto_accept=False)
    cid = conversation.id
    await h.receive(from_agent(cid, f"!invite {BOB_JID}"))
    await h.receive(from_agent(cid, "!accept", agent=BOB_CLIENT, stanza_id="b1"))
    await h.flush()
    h.sender.take()

    world.publisher.unsubscribe(h.notifier)  # stored by another process from here on
    await world.agent_says(ALICE, cid, "for bob before he goes")
    await h.receive(from_agent(cid, "!leave", agent=BOB_CLIENT, stanza_id="b3"))
    await h.notifier.drain()
    h.sender.take()  # what the inbound side answered itself
    world.publisher.subscribe(h.notifier)

    h.notifier.catch_up([cid])  # the nudge
    sent = await h.delivered()
    to_bob = [body_of(s) or "" for s in sent if s.xml.get("to", "").split("/")[0] == BOB_JID]
    assert any("for bob before he goes" in body for body in to_bob)
