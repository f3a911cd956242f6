"""Bot-first queues at the agent desk: the offer of a chat the bot handed over shows the
bot's part, marked as the bot's; ``!bot`` sends the visitor back, the agent leaves the
chat's window, and a queue without a bot refuses it with the reason."""

from __future__ import annotations

from business import commands as c
from business.bot_model import QuickReply
from business.events import MessagePosted
from business.model import (
    DEFAULT_TENANT,
    ConversationState,
    Participant,
    ParticipantKind,
    QueueName,
)
from business.visitor_profile import Line, PastConversation
from tests.business.bot_support import BOT_CONFIG
from tests.harness import World
from tests.xmpp_bridge import support
from tests.xmpp_bridge.support import (
    ALICE,
    Harness,
    body_of,
    from_agent,
    harness,
    messages,
    presences,
)
from xmpp_bridge import texts, texts_visitor
from xmpp_bridge.converters import custom_to_stanza
from xmpp_bridge.custom import ConversationUpdate

SUPPORT = QueueName("support")


async def bot_first(world: World) -> None:
    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=SUPPORT, bot=BOT_CONFIG)
    )


async def refusal(h: Harness, expected: str) -> None:
    error, text = await h.delivered()
    assert error.xml.attrib["type"] == "error"
    assert body_of(text) == expected


def to_visitor(world: World, conversation_id: str) -> list[tuple[str, str]]:
    return [
        (e.sender.kind.value, e.text)
        for e in world.published()
        if isinstance(e, MessagePosted) and e.conversation_id == conversation_id
    ]


async def test_the_offer_shows_the_bots_part_and_bot_sends_the_visitor_back(
    world: World,
) -> None:
    h = harness(world)
    await bot_first(world)
    await world.agent(ALICE, name="Alice", auto_accept=False)
    conversation = await world.start(await world.visitor(), "refund?")
    assert world.conv(conversation.id).state is ConversationState.BOT
    assert await h.delivered() == []  # nothing for the agent desk while with the bot

    await world.visitor_says(conversation.visitor_id, conversation.id, "Talk to a person")

    (offer,) = [body_of(m) or "" for m in messages(await h.delivered())]
    options = " (options: Opening hours | Talk to a person)"
    assert [line for line in offer.splitlines() if line.startswith("[")] == [
        "[Vera] refund?",
        f"[Bot Ava] {BOT_CONFIG.greeting}{options}",
        f"[Bot Ava] Refunds take five days.{options}",
        "[Vera] Talk to a person",
        f"[Bot Ava] {BOT_CONFIG.handover_text}",
    ]

    await h.receive(from_agent(conversation.id, "Hi, Alice here"))
    await h.delivered()
    assert world.conv(conversation.id).agent_id == ALICE

    await h.receive(from_agent(conversation.id, "!bot", stanza_id="s2"))

    stanzas = await h.delivered()
    assert [body_of(m) for m in messages(stanzas)] == [texts.SENT_BACK_TO_BOT]
    # Out of the chat: its window goes offline for her.
    assert [p.type for p in presences(stanzas)] == ["unavailable"]
    after = world.conv(conversation.id)
    assert (after.state, after.agent_id) == (ConversationState.BOT, None)
    assert to_visitor(world, conversation.id)[-2:] == [
        (ParticipantKind.AGENT.value, "Hi, Alice here"),
        (ParticipantKind.BOT.value, BOT_CONFIG.greeting),
    ]

    await h.receive(from_agent(conversation.id, "one more thing", stanza_id="s3"))
    await refusal(h, "Not delivered: you are not the agent of this conversation.")


async def test_bot_in_a_queue_without_a_bot_is_refused_with_the_reason(world: World) -> None:
    h = harness(world)
    await world.agent(ALICE, name="Alice")
    conversation = await world.start(await world.visitor(), "Hello")
    assert conversation.agent_id == ALICE
    await h.delivered()

    await h.receive(from_agent(conversation.id, "!help"))
    (help_text,) = await h.bodies()
    assert f"!bot - {texts.HELP_BOT}" in help_text.splitlines()

    await h.receive(from_agent(conversation.id, "!bot", stanza_id="s2"))
    await refusal(
        h, "Sorry: queue support has no bot: there is nothing to send the visitor back to."
    )
    assert world.conv(conversation.id).state is ConversationState.ACTIVE


def test_a_bot_is_named_as_one_in_a_transcript() -> None:
    assert texts.said_by("Ava", ParticipantKind.BOT) == "[Bot Ava] "
    assert texts.said_by("bot", ParticipantKind.BOT) == "[Bot] "  # not "[Bot bot]"
    assert texts.bot_options(["Hours", "A person"]) == " (options: Hours | A person)"
    assert texts.bot_options([]) == ""


def test_an_integrators_bot_message_in_a_live_chat_shows_the_agent_its_buttons() -> None:
    helper = Participant(kind=ParticipantKind.BOT, name="Helper")
    replies = (QuickReply(id="track", label="Track it"), QuickReply(id="p", label="A person"))
    event = support.posted(6, "Shall I track your order?", helper, quick_replies=replies)
    conversation = support.make_conversation(last_seq=6, last_pos=6)

    [stanza] = custom_to_stanza(
        ConversationUpdate(conversation=conversation, to=support.ALICE_JID, event=event),
        support.ADDRESSING,
    )

    assert body_of(stanza) == (
        "[Bot Helper] Shall I track your order? (options: Track it | A person)"
    )


def test_history_names_a_bots_lines_as_the_bots() -> None:
    earlier = PastConversation(
        id=support.CID,
        started_at=support.T0,
        queue=SUPPORT,
        agent=None,
        outcome="ended",
        lines=[
            Line(at=support.T0, who="Vera", text="hours?", kind=ParticipantKind.VISITOR),
            Line(at=support.T0, who="Ava", text="9-17", kind=ParticipantKind.BOT),
        ],
    )

    lines = texts_visitor.visitor_history([earlier]).splitlines()

    assert lines[-2:] == ["  [Vera] hours?", "  [Bot Ava] 9-17"]
