"""The integrators' reads of visitors (``business.visitor_queries``): one visitor with
their last agent, and their conversations in pages; another tenant's visitor is
``NotFound`` as an unknown one."""

from __future__ import annotations

import pytest

from business import commands as c
from business.errors import InvalidInput, NotFound
from business.integrator_commands import ListVisitorConversations
from business.model import DEFAULT_TENANT, VisitorId
from tests.business.integrator_support import GLOBEX, any_world, chat_with_alice, fake_world
from tests.harness import ALICE, World

__all__ = ["any_world", "fake_world"]


async def test_a_visitor_with_their_last_agent_and_conversations_in_pages(
    any_world: World,
) -> None:
    world = any_world
    first = await chat_with_alice(world)
    visitor = first.visitor_id
    fresh = await world.services.visitor_queries.get(DEFAULT_TENANT, visitor)
    assert (fresh.id, fresh.last_agent_id, fresh.last_agent_name) == (visitor, None, None)
    await world.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=visitor, conversation_id=first.id)
    )
    world.advance(60)
    second = await world.start(visitor, text="me again")
    await world.start(await world.visitor(), text="somebody else")

    details = await world.services.visitor_queries.get(DEFAULT_TENANT, visitor)
    assert details.id == visitor
    assert details.created_at <= first.created_at
    assert (details.last_agent_id, details.last_agent_name) == (ALICE, "Alice")
    assert details.last_served_at == first.created_at  # ended at once, on the fake clock

    queries = world.services.visitor_queries
    page = await queries.conversations(
        ListVisitorConversations(tenant_id=DEFAULT_TENANT, visitor_id=visitor, limit=1)
    )
    assert [conv.id for conv in page.conversations] == [second.id]
    assert page.next_cursor is not None
    rest = await queries.conversations(
        ListVisitorConversations(
            tenant_id=DEFAULT_TENANT, visitor_id=visitor, cursor=page.next_cursor
        )
    )
    assert [conv.id for conv in rest.conversations] == [first.id]
    assert rest.next_cursor is None


async def test_another_tenants_visitor_is_not_found_like_an_unknown_one(fake_world: World) -> None:
    world = fake_world
    theirs = await world.visitor(GLOBEX)
    queries = world.services.visitor_queries
    for visitor in (theirs, VisitorId("nobody")):
        with pytest.raises(NotFound, match=r"^unknown visitor$"):
            await queries.get(DEFAULT_TENANT, visitor)
        with pytest.raises(NotFound, match=r"^unknown visitor$"):
            await queries.conversations(
                ListVisitorConversations(tenant_id=DEFAULT_TENANT, visitor_id=visitor)
            )
    assert (await queries.get(GLOBEX, theirs)).id == theirs
    with pytest.raises(InvalidInput, match="limit"):
        await queries.conversations(
            ListVisitorConversations(tenant_id=GLOBEX, visitor_id=theirs, limit=500)
        )
