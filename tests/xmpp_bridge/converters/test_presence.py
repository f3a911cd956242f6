"""Conversation presence: the conversation JID's presence to the agents in it, read off
the events rendered for each of them (compared as XML)."""

from __future__ import annotations

import pytest

from business.events import (
    ChatReturned,
    MemberJoined,
    MemberLeft,
    OfferClosed,
    OfferOutcome,
    ParticipantJoined,
    ParticipantLeft,
    StateChanged,
    StoredEvent,
    Transferred,
)
from business.model import (
    AgentId,
    ConversationState,
    Member,
    MemberRole,
    Participant,
    ParticipantKind,
)
from tests.xmpp_bridge import support
from tests.xmpp_bridge.support import (
    ADDRESSING,
    ALICE_AGENT,
    ALICE_JID,
    CID,
    CONV_JID,
    T0,
    VERA,
    assert_xml,
    body_of,
    is_presence,
    make_conversation,
    messages,
    offered_conversation,
    presences,
)
from xmpp_bridge.converters import Stanza, custom_to_stanza, serialised_size
from xmpp_bridge.custom import AgentOffer, ConversationPresence, ConversationUpdate

SAM = Participant(kind=ParticipantKind.AGENT, name="Sam", id="a-sam")
SAM_JID = "sam@localhost"
ALICE = ALICE_AGENT

AVAILABLE = f"""
    <presence from="{CONV_JID}" to="alice@localhost">
      <nick xmlns="http://jabber.org/protocol/nick">Vera &lt;V&amp;V&gt;</nick>
    </presence>
"""
UNAVAILABLE = f'<presence from="{CONV_JID}" to="alice@localhost" type="unavailable"/>'

OFFER = support.offer_made(3)
OFFERED = offered_conversation(OFFER, visitor_name="Vera <V&V>", last_pos=3)
CONVERSATION = make_conversation(visitor_name="Vera <V&V>", agent_name="Alice", last_pos=7)
# Alice's chat with Sam consulted (or invited): rendered for Sam, the member.
WITH_SAM = make_conversation(
    visitor_name="Vera <V&V>",
    agent_name="Alice",
    last_pos=9,
    members=(Member(agent_id=AgentId("a-sam"), name="Sam", role=MemberRole.CONSULTANT),),
)


def update(event: StoredEvent, **fields: object) -> list[Stanza]:
    fields.setdefault("conversation", CONVERSATION)
    fields.setdefault("to", ALICE_JID)
    return custom_to_stanza(ConversationUpdate(event=event, **fields), ADDRESSING)  # type: ignore[arg-type]


def joined(pos: int, who: Participant) -> ParticipantJoined:
    return ParticipantJoined(conversation_id=CID, seq=pos, pos=pos, created_at=T0, participant=who)


def left(pos: int, who: Participant) -> ParticipantLeft:
    return ParticipantLeft(conversation_id=CID, seq=pos, pos=pos, created_at=T0, participant=who)


ENDED = StateChanged(
    conversation_id=CID, seq=9, pos=9, created_at=T0, state=ConversationState.ENDED
)


def test_the_offer_comes_after_available_presence_with_the_visitors_name() -> None:
    presence, offer = custom_to_stanza(
        AgentOffer(conversation=OFFERED, to=ALICE_JID, offer=OFFER, earlier=[]), ADDRESSING
    )

    assert_xml(presence, AVAILABLE)
    assert (body_of(offer) or "").startswith("New chat from Vera <V&V>")


def test_a_replayed_offer_brings_the_presence_again_without_a_delay() -> None:
    presence, _ = custom_to_stanza(
        AgentOffer(conversation=OFFERED, to=ALICE_JID, offer=OFFER, earlier=[], delayed=True),
        ADDRESSING,
    )

    # Presence is the state now, not news from then.
    assert_xml(presence, AVAILABLE)


@pytest.mark.parametrize(
    "event",
    [
        joined(5, ALICE),
        ChatReturned(conversation_id=CID, pos=8, created_at=T0, agent=ALICE),
    ],
    ids=["taking-the-routed-chat", "held-chat-given-back"],
)
def test_taking_the_chat_brings_available_presence_and_nothing_else(event: StoredEvent) -> None:
    stanzas = update(event)

    assert len(messages(stanzas)) == (1 if isinstance(event, ChatReturned) else 0)
    [presence] = [s for s in stanzas if is_presence(s)]
    assert_xml(presence, AVAILABLE)
    assert is_presence(stanzas[-1])


@pytest.mark.parametrize(
    "event",
    [
        joined(8, SAM),  # invited
        MemberJoined(
            conversation_id=CID, pos=8, created_at=T0, agent=SAM, role=MemberRole.CONSULTANT
        ),
    ],
    ids=["invitation-accepted", "consult-accepted"],
)
def test_a_member_taking_their_place_gets_available_presence(event: StoredEvent) -> None:
    stanzas = update(event, conversation=WITH_SAM, to=SAM_JID, recipient=AgentId("a-sam"))

    [presence] = stanzas
    assert_xml(presence, AVAILABLE.replace("alice@localhost", SAM_JID))
    # Alice, the owner, is told of it and sees no presence change.
    alice = update(event, conversation=WITH_SAM)
    assert presences(alice) == []
    assert len(messages(alice)) == 1


@pytest.mark.parametrize(
    ("event", "said"),
    [
        (left(8, ALICE), 0),  # a transfer (or !end) takes her out
        (ENDED, 1),  # "This chat has ended", then offline
    ],
    ids=["own-leave", "chat-ended"],
)
def test_leaving_or_the_end_brings_unavailable_presence_last(event: StoredEvent, said: int) -> None:
    stanzas = update(event)

    assert len(messages(stanzas)) == said
    assert_xml(stanzas[-1], UNAVAILABLE)
    assert len(presences(stanzas)) == 1


def test_a_member_leaving_or_the_end_takes_it_back_from_them_too() -> None:
    sam_left = MemberLeft(
        conversation_id=CID, pos=8, created_at=T0, agent=SAM, role=MemberRole.CONSULTANT
    )
    for event in (sam_left, left(8, SAM), ENDED):
        stanzas = update(event, conversation=WITH_SAM, to=SAM_JID, recipient=AgentId("a-sam"))
        assert_xml(stanzas[-1], UNAVAILABLE.replace("alice@localhost", SAM_JID))

    # Alice stays in the chat: she is told, her window stays online.
    assert presences(update(sam_left, conversation=WITH_SAM)) == []


@pytest.mark.parametrize(
    "event",
    [
        joined(8, VERA),
        left(8, VERA),
        joined(8, SAM),
        left(8, SAM),
        Transferred(conversation_id=CID, pos=8, created_at=T0, by=ALICE, to=SAM),
        OfferClosed(
            conversation_id=CID, pos=8, created_at=T0, agent=SAM, outcome=OfferOutcome.DECLINED
        ),
        StateChanged(
            conversation_id=CID, seq=8, pos=8, created_at=T0, state=ConversationState.ON_HOLD
        ),
        ChatReturned(conversation_id=CID, pos=8, created_at=T0, agent=SAM),
        support.posted(8, "hello"),
    ],
    ids=[
        "visitor-joins",
        "visitor-leaves",
        "colleague-joins",
        "colleague-leaves",
        "transferred-follows-the-old-agents-leave",
        "colleague-declines",
        "on-hold",
        "someone-elses-chat-returned",
        "message",
    ],
)
def test_what_does_not_change_the_agents_place_brings_no_presence(event: StoredEvent) -> None:
    assert presences(update(event)) == []


def test_nothing_is_rendered_for_nobody() -> None:
    nobody = make_conversation(agent_id=None, state=ConversationState.QUEUED)

    assert update(joined(5, ALICE), conversation=nobody) == []


def test_a_live_presence_for_an_offer_closed_without_them() -> None:
    [presence] = custom_to_stanza(
        ConversationPresence(conversation=OFFERED, to=ALICE_JID, available=False), ADDRESSING
    )

    assert_xml(presence, UNAVAILABLE)


def test_a_huge_visitor_name_is_cut_to_fit_the_budget() -> None:
    huge = make_conversation(visitor_name="Vera " + "€<" * 50_000)
    budget = 4096

    [presence] = custom_to_stanza(
        ConversationPresence(conversation=huge, to=ALICE_JID, available=True),
        ADDRESSING,
        budget=budget,
    )

    assert serialised_size(presence) <= budget
    [seen] = presences([presence])
    assert seen.nick is not None
    assert seen.nick.startswith("Vera €<€<")
    assert seen.nick.endswith("…")
    # As long as fits: another character would not.
    assert serialised_size(presence) > budget - len(b"&lt;")


def test_with_no_room_for_a_nick_the_presence_goes_without_it() -> None:
    def available(name: str, budget: int) -> list[Stanza]:
        conversation = make_conversation(visitor_name=name)
        item = ConversationPresence(conversation=conversation, to=ALICE_JID, available=True)
        return custom_to_stanza(item, ADDRESSING, budget=budget)

    [nameless] = available("", 4096)
    assert presences([nameless])[0].nick is None
    # Room for the <nick/> element but not for a character in it.
    [without] = available("Vera", serialised_size(nameless) + 20)

    assert_xml(without, f'<presence from="{CONV_JID}" to="alice@localhost"/>')


def test_an_absurd_address_gets_no_presence_rather_than_one_the_server_would_refuse() -> None:
    absurd = "a" * 10_000 + "@localhost"

    assert (
        custom_to_stanza(
            ConversationPresence(conversation=CONVERSATION, to=absurd, available=True),
            ADDRESSING,
            budget=4096,
        )
        == []
    )
    # The event's notice is still made (the link refuses it, and parks the event, by
    # itself): presence never adds a refusal of its own.
    ended = custom_to_stanza(
        ConversationUpdate(conversation=CONVERSATION, to=absurd, event=ENDED),
        ADDRESSING,
        budget=4096,
    )
    assert presences(ended) == []
    assert len(messages(ended)) == 1
