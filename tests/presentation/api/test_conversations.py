"""``GET /conversations`` and one conversation's details, events and transcript, through
a real app over SQLite and PostgreSQL, with conversations the real services made."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

from business import commands as c
from business.integrator_commands import EndByIntegrator
from business.model import AgentId, ConversationState, OfferKind, QueueName
from tests.harness import World
from tests.presentation.api.chats import ALICE, alice, chat, waiting_chat
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import Keys
from tests.presentation.conftest import Server


async def test_a_conversation_in_the_list_and_on_its_own(
    api: ApiClient, keys: Keys, world: World
) -> None:
    conv = await chat(world)
    await world.services.notes.add_note(
        c.AddNote(agent_id=ALICE, conversation_id=conv.id, text="VIP customer")
    )
    listed = await api.get("/conversations", keys.read)
    assert listed.status == 200, listed.body
    (item,) = listed.body["items"]
    assert listed.body["next_cursor"] is None
    assert item["id"] == conv.id
    assert item["state"] == "active"
    assert item["queue"] == "support"
    assert item["visitor"] == {"id": conv.visitor_id, "name": "Vera"}
    assert item["agent"] == {"id": ALICE, "name": "Alice"}
    assert item["members"] == []
    assert item["offer"] is None
    assert item["form"] == {"name": "Vera"}
    assert item["last_seq"] == conv.last_seq
    assert item["assigned_at"] is not None
    assert item["ended_at"] is None

    one = await api.get(f"/conversations/{conv.id}", keys.read)
    assert one.status == 200
    assert {k: v for k, v in one.body.items() if k != "counts"} == item
    # The visitor's first message, Alice's answer, and the note.
    assert one.body["counts"] == {"visitor": 1, "agent": 1, "bot": 0, "system": 0, "notes": 1}


async def test_members_are_the_agents_in_it_besides_its_owner(
    api: ApiClient, keys: Keys, world: World
) -> None:
    conv = await chat(world)
    await world.agent(
        AgentId("carol-id"),
        address="carol@agents.example",
        name="Carol",
        auto_accept=True,
        max_chats=3,
    )
    await world.services.participants.offer(
        c.OfferToColleague(
            agent_id=ALICE,
            conversation_id=conv.id,
            kind=OfferKind.INVITE,
            target="carol@agents.example",
        )
    )
    offered = await api.get(f"/conversations/{conv.id}", keys.admin)
    assert offered.body["members"] == [{"agent_id": "carol-id", "name": "Carol", "role": "offered"}]
    await world.services.offers.accept(
        c.AcceptOffer(agent_id=AgentId("carol-id"), conversation_id=conv.id)
    )
    joined = await api.get(f"/conversations/{conv.id}", keys.admin)
    assert joined.body["members"] == [{"agent_id": "carol-id", "name": "Carol", "role": "invited"}]
    assert joined.body["agent"] == {"id": ALICE, "name": "Alice"}


async def test_filters_and_keyset_pages(api: ApiClient, keys: Keys, world: World) -> None:
    first = await chat(world, name="First")
    await asyncio.sleep(0.01)
    middle = await chat(world, name="Middle")
    await world.services.integrator_control.end(
        EndByIntegrator(tenant_id=middle.tenant_id, conversation_id=middle.id)
    )
    await asyncio.sleep(0.01)
    await world.services.agents.set_availability(
        c.SetAgentAvailability(agent_id=ALICE, ready=False)
    )
    last = await waiting_chat(world, middle.tenant_id)

    async def ids(**params: str) -> list[str]:
        reply = await api.get("/conversations", keys.read, params=params)
        assert reply.status == 200, reply.body
        return [item["id"] for item in reply.body["items"]]

    assert await ids() == [last.id, middle.id, first.id]  # newest first
    assert await ids(state="ended") == [middle.id]
    assert await ids(state="queued,active") == [last.id, first.id]
    assert await ids(agent_id=ALICE) == [middle.id, first.id]
    assert await ids(agent_id="nobody") == []
    assert await ids(visitor_id=first.visitor_id) == [first.id]
    assert await ids(queue="sales") == []
    since = (middle.created_at - timedelta(microseconds=1)).astimezone(UTC).isoformat()
    assert await ids(since=since) == [last.id, middle.id]
    until = middle.created_at.astimezone(UTC).isoformat()
    assert await ids(until=until) == [first.id]
    assert await ids(since=since, state="ended") == [middle.id]

    walked = await api.all_items("/conversations", keys.read, limit=2)
    assert [item["id"] for item in walked] == [last.id, middle.id, first.id]


async def test_bad_filters_are_400(api: ApiClient, keys: Keys) -> None:
    for params, field in [
        ({"state": "open"}, "state"),
        ({"state": "queued;active"}, "state"),
        ({"since": "2026-05-01T10:00:00"}, "since"),  # no offset
        ({"limit": "101"}, "limit"),
        ({"agent_id": "has space"}, "agent_id"),
        ({"cursor": "***"}, "cursor"),
    ]:
        reply = await api.get("/conversations", keys.read, params=params)
        reply.problem(400, "invalid_input")
        assert reply.body["errors"][0]["field"] == field, params
    until_before_since = {"since": "2026-05-02T00:00:00Z", "until": "2026-05-01T00:00:00Z"}
    reply = await api.get("/conversations", keys.read, params=until_before_since)
    assert "since must be before until" in reply.problem(400, "invalid_input")
    reply = await api.get("/conversations", keys.read, params={"cursor": "bm90LW1pbmU"})
    assert "cursor" in reply.problem(400, "invalid_input")


async def test_an_offset_in_the_url_must_be_encoded(
    api: ApiClient, keys: Keys, world: World
) -> None:
    conv = await chat(world)
    # aiohttp's client encodes "+" in params as %2B, as a client must.
    moment = (conv.created_at - timedelta(hours=1)).astimezone(timezone(timedelta(hours=2)))
    reply = await api.get("/conversations", keys.read, params={"since": moment.isoformat()})
    assert [item["id"] for item in reply.body["items"]] == [conv.id]


async def test_an_unknown_conversation_is_404_everywhere(api: ApiClient, keys: Keys) -> None:
    for path in ("", "/events", "/transcript"):
        reply = await api.get(f"/conversations/0123456789abcdef{path}", keys.read)
        assert "unknown conversation" in reply.problem(404, "not_found")


async def test_events_are_what_the_visitor_saw_paged_by_seq(
    api: ApiClient, keys: Keys, world: World
) -> None:
    conv = await chat(world)
    await world.services.notes.add_note(
        c.AddNote(agent_id=ALICE, conversation_id=conv.id, text="internal only")
    )
    await world.visitor_says(conv.visitor_id, conv.id, "Thanks!")
    reply = await api.get(f"/conversations/{conv.id}/events", keys.bot)
    assert reply.status == 200, reply.body
    events = reply.body["items"]
    assert reply.body["has_more"] is False
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    types = [e["type"] for e in events]
    assert "note.added" not in types
    messages = [e for e in events if e["type"] == "message"]
    assert [(m["from"]["kind"], m["text"]) for m in messages] == [
        ("visitor", "Hello, my order is late"),
        ("agent", "Hi Vera, let me check"),
        ("visitor", "Thanks!"),
    ]
    assert messages[1]["from"] == {"kind": "agent", "name": "Alice", "id": ALICE}
    assert messages[0]["from"]["id"] == conv.visitor_id
    assert {"participant.joined", "state.changed"} <= set(types)
    # The same stream as the visitor's sync.
    synced = await world.history.sync(
        c.SyncEvents(visitor_id=conv.visitor_id, conversation_id=conv.id, after_seq=0)
    )
    assert [e.seq for e in synced.events] == [e["seq"] for e in events]

    first = await api.get(f"/conversations/{conv.id}/events", keys.read, params={"limit": "2"})
    assert [e["seq"] for e in first.body["items"]] == [1, 2]
    assert first.body["has_more"] is True
    rest = await api.get(
        f"/conversations/{conv.id}/events", keys.read, params={"after_seq": "2", "limit": "1000"}
    )
    assert [e["seq"] for e in rest.body["items"]] == [e["seq"] for e in events[2:]]
    assert rest.body["has_more"] is False
    for bad in ({"after_seq": "-1"}, {"limit": "0"}, {"after_seq": str(2**31)}):
        reply = await api.get(f"/conversations/{conv.id}/events", keys.read, params=bad)
        reply.problem(400, "invalid_input")


async def test_internal_events_are_every_event_for_admins_only(
    api: ApiClient, keys: Keys, world: World
) -> None:
    conv = await chat(world)
    await world.services.notes.add_note(
        c.AddNote(agent_id=ALICE, conversation_id=conv.id, text="internal only")
    )
    for key in (keys.read, keys.bot):
        reply = await api.get(f"/conversations/{conv.id}/internal-events", key)
        reply.problem(403, "forbidden")
    reply = await api.get(f"/conversations/{conv.id}/internal-events", keys.admin)
    assert reply.status == 200, reply.body
    events = reply.body["items"]
    assert [e["pos"] for e in events] == list(range(1, len(events) + 1))
    (note,) = [e for e in events if e["type"] == "note.added"]
    assert note["text"] == "internal only"
    assert note["by"] == {"kind": "agent", "name": "Alice", "id": ALICE}
    assert "seq" not in note
    # The router's offer, taken at once by Alice (auto-accept).
    assert {"offer.made", "offer.closed"} <= {e["type"] for e in events}
    visible = (await api.get(f"/conversations/{conv.id}/events", keys.admin)).body["items"]
    assert [e for e in events if "seq" in e] == visible
    paged = await api.get(
        f"/conversations/{conv.id}/internal-events",
        keys.admin,
        params={"after_pos": str(len(events) - 1), "limit": "5"},
    )
    assert paged.body == {"items": events[-1:], "has_more": False}


async def test_the_transcript_as_json_and_as_text(
    api: ApiClient, keys: Keys, world: World, server: Server
) -> None:
    conv = await chat(world)
    await world.services.notes.add_note(
        c.AddNote(agent_id=ALICE, conversation_id=conv.id, text="internal only")
    )
    reply = await api.get(f"/conversations/{conv.id}/transcript", keys.read)
    assert reply.status == 200
    assert reply.content_type == "application/json"
    transcript = reply.body
    assert transcript["conversation_id"] == conv.id
    assert transcript["visitor_name"] == "Vera"
    messages = [line for line in transcript["lines"] if line["kind"] == "message"]
    assert [(m["sender"], m["text"]) for m in messages] == [
        ({"kind": "visitor", "name": "Vera"}, "Hello, my order is late"),
        ({"kind": "agent", "name": "Alice"}, "Hi Vera, let me check"),
    ]
    assert "internal only" not in transcript["text"]
    assert "Vera: Hello, my order is late" in transcript["text"]

    text = await api.http.get(
        f"{api.base}/conversations/{conv.id}/transcript",
        headers={"Authorization": f"Bearer {keys.bot}", "Accept": "text/plain"},
    )
    async with text:
        assert text.status == 200
        assert text.content_type == "text/plain"
        assert text.charset == "utf-8"
        assert await text.text() == transcript["text"]

    paris = await api.http.get(
        f"{api.base}/conversations/{conv.id}/transcript",
        params={"tz": "Asia/Tokyo"},
        headers={"Authorization": f"Bearer {keys.read}", "Accept": "text/plain, */*;q=0.1"},
    )
    async with paris:
        assert "JST" in await paris.text()
    for zone in ("Nowhere/Else", "America"):
        bad = await api.get(f"/conversations/{conv.id}/transcript", keys.read, params={"tz": zone})
        bad.problem(400, "invalid_input")


async def test_a_conversation_with_the_bot_is_in_state_bot(
    api: ApiClient, keys: Keys, world: World
) -> None:
    await alice(world)
    reply = await api.patch("/queues/sales", keys.admin, {"bot": {"name": "Ava"}})
    assert reply.status == 200, reply.body
    conv = await world.start(await world.visitor(), "hi", queue=QueueName("sales"))
    one = await api.get(f"/conversations/{conv.id}", keys.bot)
    assert one.body["state"] == ConversationState.BOT
    assert one.body["counts"]["bot"] >= 1
    listed = await api.get("/conversations", keys.bot, params={"state": "bot"})
    assert [item["id"] for item in listed.body["items"]] == [conv.id]
    assert isinstance(datetime.fromisoformat(one.body["created_at"]), datetime)
