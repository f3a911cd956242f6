"""One event read with the visitor's credentials (``business.visitor_events``): what an
``event.ref`` points to. The visitor's own event comes back exactly as ``sync`` gives
it; anybody else is refused as the Socket.IO edge would refuse them, on the fakes,
SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from business import commands as c
from business.errors import Forbidden, NotFound, Unauthenticated
from business.events import MessagePosted
from business.model import DEFAULT_TENANT, ConversationId, TenantId
from business.sessions import VisitorSession
from business.visitor_events import ReadVisitorEvent
from tests.business.integrator_support import GLOBEX, any_world
from tests.harness import ALICE, World

__all__ = ["any_world"]

LONG = "a long answer " * 280  # near the 4,000 characters a message may have


async def _session(world: World, tenant: TenantId = DEFAULT_TENANT) -> VisitorSession:
    return await world.sessions.open_session(c.OpenSession(tenant_id=tenant))


def _read(
    session: VisitorSession, conversation_id: ConversationId, seq: int, **changes: object
) -> ReadVisitorEvent:
    fields: dict[str, object] = {
        "tenant_id": session.tenant.id,
        "visitor_token": session.visitor_token,
        "conversation_id": conversation_id,
        "seq": seq,
    }
    fields.update(changes)
    return ReadVisitorEvent(**fields)  # type: ignore[arg-type]


async def test_the_visitor_reads_their_event_as_sync_gives_it(any_world: World) -> None:
    world = any_world
    await world.agent(ALICE, name="Alice", max_chats=5)
    ann = await _session(world)
    conv = await world.start(ann.visitor.id, text="hello")
    answer = await world.agent_says(ALICE, conv.id, LONG)

    read = await world.services.visitor_events.event(_read(ann, conv.id, answer.seq))

    synced = await world.history.sync(
        c.SyncEvents(visitor_id=ann.visitor.id, conversation_id=conv.id, after_seq=0)
    )
    assert read == next(e for e in synced.events if e.seq == answer.seq)
    assert isinstance(read, MessagePosted)
    assert read.text == LONG
    first = await world.services.visitor_events.event(_read(ann, conv.id, 1))
    assert first.seq == 1


async def test_an_event_the_conversation_does_not_have_is_not_found(any_world: World) -> None:
    world = any_world
    ann = await _session(world)
    conv = await world.start(ann.visitor.id, text="hello")
    last = (await world.conversations.get_conversation(conv.id)).last_seq
    for seq in (0, -1, last + 1, 2**40):
        with pytest.raises(NotFound, match=f"^no event {seq} in this conversation$"):
            await world.services.visitor_events.event(_read(ann, conv.id, seq))
    with pytest.raises(NotFound, match=r"^unknown conversation$"):
        await world.services.visitor_events.event(_read(ann, ConversationId("nope"), 1))


async def test_another_visitor_or_another_tenant_is_refused_as_sync_refuses_them(
    any_world: World,
) -> None:
    world = any_world
    ann = await _session(world)
    conv = await world.start(ann.visitor.id, text="my address is 4 Elm Street")
    bob = await _session(world)
    globex = await _session(world, GLOBEX)
    events = world.services.visitor_events

    for stranger in (bob, globex):
        with pytest.raises(Forbidden, match="another visitor"):
            await events.event(_read(stranger, conv.id, 1))
        with pytest.raises(Forbidden, match="another visitor"):
            await world.history.sync(
                c.SyncEvents(visitor_id=stranger.visitor.id, conversation_id=conv.id, after_seq=0)
            )
    # Ann's own token is only hers under her tenant: under another it is nobody's.
    with pytest.raises(Unauthenticated, match=r"^unknown visitor token$"):
        await events.event(_read(ann, conv.id, 1, tenant_id=GLOBEX))
    with pytest.raises(NotFound, match="unknown tenant"):
        await events.event(_read(ann, conv.id, 1, tenant_id=TenantId("nobody")))


async def test_a_missing_malformed_or_unknown_token_is_unauthenticated(any_world: World) -> None:
    world = any_world
    ann = await _session(world)
    conv = await world.start(ann.visitor.id, text="hello")
    events = world.services.visitor_events
    for token in (None, "", "short", "x" * 200, "not a token at all!"):
        with pytest.raises(Unauthenticated, match="visitor token is required"):
            await events.event(_read(ann, conv.id, 1, visitor_token=token))
    with pytest.raises(Unauthenticated, match=r"^unknown visitor token$"):
        await events.event(_read(ann, conv.id, 1, visitor_token="A" * 43))
    # Reading never makes a visitor, as a connect with an unknown token would.
    assert (await events.event(_read(ann, conv.id, 1))).seq == 1
