"""The integrators' reads of conversations (``business.conversation_queries``): search
with filters and keyset pages, one conversation with its members and counts, its events
by ``seq`` (what the visitor's ``sync`` gives) and by ``pos`` (the agent desk's too),
and its transcript. Another tenant's conversation is ``NotFound`` everywhere, with the
very message an unknown id gets."""

from __future__ import annotations

from datetime import datetime

import pytest

from business import commands as c
from business.conversation import Conversation
from business.errors import InvalidInput, NotFound
from business.events import NoteAdded, OfferMade
from business.integrator_commands import ReadAllEvents, ReadEvents, SearchConversations
from business.model import (
    DEFAULT_TENANT,
    ConversationId,
    ConversationState,
    MemberRole,
    OfferKind,
    QueueName,
)
from business.transcripts import LineKind
from business.validation import Limits
from tests.business.integrator_support import (
    GLOBEX,
    HELPER,
    chat_with_alice,
    fake_world,
    globex_chat,
    post,
)
from tests.harness import ALICE, BOB, SALES, World, make_world

__all__ = ["fake_world"]

QUEUED, ACTIVE, ENDED = ConversationState.QUEUED, ConversationState.ACTIVE, ConversationState.ENDED


def search(**given: object) -> SearchConversations:
    return SearchConversations(tenant_id=DEFAULT_TENANT, **given)  # type: ignore[arg-type]


async def ids(world: World, **given: object) -> list[ConversationId]:
    page = await world.services.conversation_queries.search(search(**given))
    return [conv.id for conv in page.conversations]


async def three(world: World) -> list[Conversation]:
    """An ended chat with Alice, an active one with her, a waiting one in sales (oldest
    first, a minute apart)."""
    first = await chat_with_alice(world)
    await world.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=first.visitor_id, conversation_id=first.id)
    )
    world.advance(60)
    second = await chat_with_alice(world)
    world.advance(60)
    third = await world.start(await world.visitor(), text="prices?", queue=SALES)
    return [first, second, third]


async def test_search_filters_by_state_queue_agent_visitor_and_time(fake_world: World) -> None:
    first, second, third = await three(fake_world)
    await globex_chat(fake_world)

    assert await ids(fake_world) == [third.id, second.id, first.id]
    assert await ids(fake_world, states=(ENDED,)) == [first.id]
    assert await ids(fake_world, states=(QUEUED, ACTIVE)) == [third.id, second.id]
    assert await ids(fake_world, queue=SALES) == [third.id]
    assert await ids(fake_world, agent_id=ALICE) == [second.id, first.id]
    assert await ids(fake_world, visitor_id=second.visitor_id) == [second.id]
    assert await ids(fake_world, since=second.created_at) == [third.id, second.id]
    assert await ids(fake_world, until=second.created_at) == [first.id]
    # The other tenant sees only its own.
    page = await fake_world.services.conversation_queries.search(
        SearchConversations(tenant_id=GLOBEX)
    )
    assert [conv.tenant_id for conv in page.conversations] == [GLOBEX]


async def test_pages_follow_the_cursor_to_the_end_and_ignore_newer_starts(
    fake_world: World,
) -> None:
    first, second, third = await three(fake_world)
    queries = fake_world.services.conversation_queries

    page = await queries.search(search(limit=2))
    assert [conv.id for conv in page.conversations] == [third.id, second.id]
    assert page.next_cursor is not None
    # A conversation started meanwhile does not shift the next page.
    fake_world.advance(60)
    await fake_world.start(await fake_world.visitor(), text="new")
    rest = await queries.search(search(limit=2, cursor=page.next_cursor))
    assert [conv.id for conv in rest.conversations] == [first.id]
    assert rest.next_cursor is None
    # A page that happens to end with the last one says there is no other.
    exact = await queries.search(search(limit=4))
    assert len(exact.conversations) == 4
    assert exact.next_cursor is None


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"limit": 0}, "limit must be between 1 and 100"),
        ({"limit": 101}, "limit must be between 1 and 100"),
        ({"cursor": "not a cursor!"}, "cursor is malformed"),
        ({"cursor": "bm90aGluZw"}, "cursor is malformed"),  # base64 of "nothing"
        ({"cursor": "x" * 300}, "cursor is malformed"),
        ({"queue": QueueName("Not A Queue")}, "queue name"),
        ({"since": datetime(2026, 1, 1)}, "since must have a time zone"),
        (
            {
                "since": datetime.fromisoformat("2026-01-02T00:00:00+00:00"),
                "until": datetime.fromisoformat("2026-01-01T00:00:00+00:00"),
            },
            "since must be before until",
        ),
    ],
)
async def test_a_malformed_search_is_refused_naming_the_problem(
    fake_world: World, given: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        await fake_world.services.conversation_queries.search(search(**given))


async def test_get_gives_the_members_and_the_counts(fake_world: World) -> None:
    world = fake_world
    conv = await chat_with_alice(world)
    await world.agent(BOB, name="Bob", max_chats=2, auto_accept=False)
    await world.agent_says(ALICE, conv.id, "hi")
    await world.services.integrator_messages.post(post(conv, "I am a bot", "b-1"))
    await world.services.notes.add_note(
        c.AddNote(agent_id=ALICE, conversation_id=conv.id, text="VIP")
    )
    await world.services.participants.offer(
        c.OfferToColleague(
            agent_id=ALICE, conversation_id=conv.id, kind=OfferKind.INVITE, target="bob@example.com"
        )
    )

    details = await world.services.conversation_queries.get(DEFAULT_TENANT, conv.id)

    assert details.conversation.id == conv.id
    assert details.conversation.agent_id == ALICE
    assert [(m.agent_id, m.role) for m in details.conversation.members] == [
        (BOB, MemberRole.OFFERED)
    ]
    counts = details.counts
    assert (counts.visitor, counts.agent, counts.bot, counts.system, counts.notes) == (
        1,
        1,
        1,
        0,
        1,
    )


async def test_another_tenants_conversation_is_not_found_like_an_unknown_one(
    fake_world: World,
) -> None:
    theirs = await globex_chat(fake_world)
    queries = fake_world.services.conversation_queries
    unknown = ConversationId("no-such-conversation")
    for cid in (theirs.id, unknown):
        with pytest.raises(NotFound, match=r"^unknown conversation$"):
            await queries.get(DEFAULT_TENANT, cid)
        with pytest.raises(NotFound, match=r"^unknown conversation$"):
            await queries.events(ReadEvents(tenant_id=DEFAULT_TENANT, conversation_id=cid))
        with pytest.raises(NotFound, match=r"^unknown conversation$"):
            await queries.all_events(ReadAllEvents(tenant_id=DEFAULT_TENANT, conversation_id=cid))
        with pytest.raises(NotFound, match=r"^unknown conversation$"):
            await queries.transcript(DEFAULT_TENANT, cid)
    # Its own tenant reads it.
    assert (await queries.get(GLOBEX, theirs.id)).conversation.id == theirs.id


async def test_events_are_what_the_visitors_sync_gives_paged_with_has_more(
    fake_world: World,
) -> None:
    world = fake_world
    conv = await chat_with_alice(world, "one")
    for n in range(3):
        await world.visitor_says(conv.visitor_id, conv.id, f"more {n}")
    await world.services.notes.add_note(
        c.AddNote(agent_id=ALICE, conversation_id=conv.id, text="not for the visitor")
    )
    queries = world.services.conversation_queries
    synced = await world.history.sync(
        c.SyncEvents(visitor_id=conv.visitor_id, conversation_id=conv.id, after_seq=2)
    )

    everything = await queries.events(
        ReadEvents(tenant_id=DEFAULT_TENANT, conversation_id=conv.id, after_seq=2)
    )
    assert everything.events == synced.events
    assert not everything.has_more
    first = await queries.events(
        ReadEvents(tenant_id=DEFAULT_TENANT, conversation_id=conv.id, after_seq=2, limit=2)
    )
    assert [e.seq for e in first.events] == [3, 4]
    assert first.has_more
    last = first.events[-1].seq
    rest = await queries.events(
        ReadEvents(tenant_id=DEFAULT_TENANT, conversation_id=conv.id, after_seq=last, limit=100)
    )
    assert [e.seq for e in rest.events] == list(range(5, conv.last_seq + 4))
    assert not rest.has_more
    assert not any(isinstance(e, NoteAdded) for e in everything.events)


async def test_all_events_include_the_agent_desks_paged_by_pos(fake_world: World) -> None:
    world = fake_world
    conv = await chat_with_alice(world)
    note = await world.services.notes.add_note(
        c.AddNote(agent_id=ALICE, conversation_id=conv.id, text="VIP")
    )
    queries = world.services.conversation_queries

    page = await queries.all_events(
        ReadAllEvents(tenant_id=DEFAULT_TENANT, conversation_id=conv.id)
    )
    assert [e.pos for e in page.events] == list(range(1, note.pos + 1))
    assert page.events[-1] == note
    assert any(isinstance(e, OfferMade) for e in page.events)
    assert not page.has_more
    head = await queries.all_events(
        ReadAllEvents(tenant_id=DEFAULT_TENANT, conversation_id=conv.id, limit=2)
    )
    assert [e.pos for e in head.events] == [1, 2]
    assert head.has_more
    tail = await queries.all_events(
        ReadAllEvents(tenant_id=DEFAULT_TENANT, conversation_id=conv.id, after_pos=note.pos - 1)
    )
    assert tail.events == [note]


async def test_event_reads_refuse_a_negative_start_and_a_limit_out_of_range() -> None:
    world = await make_world(limits=Limits(max_sync_events=10))
    conv = await chat_with_alice(world)
    queries = world.services.conversation_queries
    tenant = DEFAULT_TENANT
    with pytest.raises(InvalidInput, match="after_seq"):
        await queries.events(ReadEvents(tenant_id=tenant, conversation_id=conv.id, after_seq=-1))
    with pytest.raises(InvalidInput, match="after_pos"):
        await queries.all_events(
            ReadAllEvents(tenant_id=tenant, conversation_id=conv.id, after_pos=-1)
        )
    for limit in (0, 11):
        with pytest.raises(InvalidInput, match="between 1 and 10"):
            await queries.events(ReadEvents(tenant_id=tenant, conversation_id=conv.id, limit=limit))
    # No limit: the configured maximum.
    for n in range(12):
        await world.visitor_says(conv.visitor_id, conv.id, f"m{n}")
    page = await queries.events(ReadEvents(tenant_id=tenant, conversation_id=conv.id))
    assert len(page.events) == 10
    assert page.has_more


async def test_the_transcript_shows_the_visitor_no_notes_and_the_desk_everything(
    fake_world: World,
) -> None:
    world = fake_world
    conv = await chat_with_alice(world, "Do you ship to Norway?")
    world.advance(5)
    await world.agent_says(ALICE, conv.id, "Yes, in 3 days.")
    await world.services.integrator_messages.post(post(conv, "Rate us!", "b-1"))
    await world.services.notes.add_note(
        c.AddNote(agent_id=ALICE, conversation_id=conv.id, text="wants express")
    )
    queries = world.services.conversation_queries

    shown = await queries.transcript(DEFAULT_TENANT, conv.id)
    assert [(line.kind, line.sender_name, line.text) for line in shown.lines] == [
        (LineKind.MESSAGE, conv.visitor_name, "Do you ship to Norway?"),
        (LineKind.JOINED, "Alice", "Alice joined the chat."),
        (LineKind.MESSAGE, "Alice", "Yes, in 3 days."),
        (LineKind.MESSAGE, HELPER.name, "Rate us!"),
    ]
    assert "[2026-01-01 12:00:05 UTC] Alice: Yes, in 3 days." in shown.text
    assert "wants express" not in shown.text

    internal = await queries.transcript(DEFAULT_TENANT, conv.id, internal=True)
    assert internal.lines[-1].kind is LineKind.NOTE
    assert "Note by Alice: wants express" in internal.text
