"""Several engine processes (``xmpp_bridge.ownership``): the notifier sends a
conversation's stored events only while this process owns its delivery, even for work
queued before the ownership was lost."""

from __future__ import annotations

from business.model import ConversationId
from tests.harness import World
from tests.xmpp_bridge.support import ALICE, body_of, harness, messages
from xmpp_bridge.outbound import XmppAgentNotifier


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
