"""Opening a visitor session: tokens, tenants and the chats listed with it."""

from __future__ import annotations

import hashlib

import pytest

from business import commands as c
from business.errors import InvalidInput, NotFound, UnknownVisitor
from business.events import MessagePosted
from business.model import DEFAULT_TENANT, ParticipantKind, TenantId
from tests.business.support import ENDED, QUEUED, TOKEN, nothing_stored
from tests.harness import ALICE, SALES, World

# -- open_session -----------------------------------------------------------------------


async def test_a_new_visitor_gets_a_token_that_is_never_stored(engine: World) -> None:
    session = await engine.sessions.open_session(c.OpenSession(tenant_id=DEFAULT_TENANT))
    assert session.is_new
    assert session.tenant.id == DEFAULT_TENANT
    assert session.conversations == []
    assert len(session.visitor_token) >= 32
    visitor, stored = engine.fakes.visitors[session.visitor.id]
    assert visitor == session.visitor
    assert stored == hashlib.sha256(session.visitor_token.encode()).hexdigest()
    assert session.visitor_token not in stored


async def test_a_returning_visitor_is_the_same_visitor(engine: World) -> None:
    first = await engine.sessions.open_session(c.OpenSession(tenant_id=DEFAULT_TENANT))
    again = await engine.sessions.open_session(
        c.OpenSession(tenant_id=DEFAULT_TENANT, visitor_token=first.visitor_token)
    )
    assert not again.is_new
    assert again.visitor.id == first.visitor.id
    assert again.visitor_token == first.visitor_token
    assert len(engine.fakes.visitors) == 1


async def test_two_new_visitors_get_different_tokens(engine: World) -> None:
    one = await engine.sessions.open_session(c.OpenSession(tenant_id=DEFAULT_TENANT))
    two = await engine.sessions.open_session(c.OpenSession(tenant_id=DEFAULT_TENANT))
    assert one.visitor.id != two.visitor.id
    assert one.visitor_token != two.visitor_token


async def test_a_well_formed_unknown_token_gets_a_new_visitor(engine: World) -> None:
    session = await engine.sessions.open_session(
        c.OpenSession(tenant_id=DEFAULT_TENANT, visitor_token=TOKEN)
    )
    assert session.is_new
    assert session.visitor_token != TOKEN
    assert len(engine.fakes.visitors) == 1


async def test_a_token_of_another_tenant_does_not_open_its_visitor(engine: World) -> None:
    await engine.tenants.ensure_tenant(TenantId("acme"), name="Acme")
    acme = await engine.sessions.open_session(c.OpenSession(tenant_id=TenantId("acme")))
    here = await engine.sessions.open_session(
        c.OpenSession(tenant_id=DEFAULT_TENANT, visitor_token=acme.visitor_token)
    )
    assert here.is_new
    assert here.visitor.id != acme.visitor.id
    assert here.visitor.tenant_id == DEFAULT_TENANT


async def test_an_unknown_tenant_is_not_found(engine: World) -> None:
    with nothing_stored(engine), pytest.raises(NotFound, match="nowhere"):
        await engine.sessions.open_session(c.OpenSession(tenant_id=TenantId("nowhere")))


@pytest.mark.parametrize(
    "token",
    [
        "",
        "short",
        "x" * 129,
        "has space in it and long enough",
        "dots.are.not.allowed.here",
        TOKEN + "=",
    ],
)
async def test_a_malformed_token_is_refused(engine: World, token: str) -> None:
    with nothing_stored(engine), pytest.raises(InvalidInput, match="visitor_token"):
        await engine.sessions.open_session(
            c.OpenSession(tenant_id=DEFAULT_TENANT, visitor_token=token)
        )


async def test_the_session_lists_open_chats_and_the_newest_ended_one(engine: World) -> None:
    session = await engine.sessions.open_session(c.OpenSession(tenant_id=DEFAULT_TENANT))
    visitor = session.visitor.id
    older_ended = await engine.start(visitor)
    await engine.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=visitor, conversation_id=older_ended.id)
    )
    engine.advance(60)
    newer_ended = await engine.start(visitor)
    await engine.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=visitor, conversation_id=newer_ended.id)
    )
    engine.advance(60)
    support = await engine.start(visitor, text="hello")
    engine.advance(60)
    sales = await engine.start(visitor, queue=SALES)

    again = await engine.sessions.open_session(
        c.OpenSession(tenant_id=DEFAULT_TENANT, visitor_token=session.visitor_token)
    )
    shown = [(s.id, s.state, s.last_seq) for s in again.conversations]
    assert shown == [
        (sales.id, QUEUED, 1),
        (support.id, QUEUED, 2),
        (newer_ended.id, ENDED, engine.conv(newer_ended.id).last_seq),
    ]


async def test_unread_counts_the_other_sides_messages_after_the_read_mark(
    engine: World,
) -> None:
    session = await engine.sessions.open_session(c.OpenSession(tenant_id=DEFAULT_TENANT))
    await engine.agent(ALICE)
    conv = await engine.start(session.visitor.id, text="hi")
    await engine.agent_says(ALICE, conv.id, "Hello!")
    await engine.agent_says(ALICE, conv.id, "How can I help?")
    await engine.say(conv, "my order", "m2")

    async def unread() -> int:
        again = await engine.sessions.open_session(
            c.OpenSession(tenant_id=DEFAULT_TENANT, visitor_token=session.visitor_token)
        )
        (summary,) = again.conversations
        return summary.unread

    assert await unread() == 2
    first_agent_message = next(
        e
        for e in engine.stored(conv.id)
        if isinstance(e, MessagePosted) and e.sender.kind is ParticipantKind.AGENT
    )
    await engine.messaging.mark_visitor_read(
        c.MarkVisitorRead(
            visitor_id=conv.visitor_id, conversation_id=conv.id, seq=first_agent_message.seq
        )
    )
    assert await unread() == 1
    await engine.messaging.mark_visitor_read(
        c.MarkVisitorRead(
            visitor_id=conv.visitor_id, conversation_id=conv.id, seq=engine.conv(conv.id).last_seq
        )
    )
    assert await unread() == 0


async def test_an_unknown_token_can_be_refused_instead_of_making_a_visitor(engine: World) -> None:
    with nothing_stored(engine), pytest.raises(UnknownVisitor):
        await engine.sessions.open_session(
            c.OpenSession(tenant_id=DEFAULT_TENANT, visitor_token=TOKEN, create_unknown=False)
        )
    known = await engine.sessions.open_session(c.OpenSession(tenant_id=DEFAULT_TENANT))
    again = await engine.sessions.open_session(
        c.OpenSession(
            tenant_id=DEFAULT_TENANT, visitor_token=known.visitor_token, create_unknown=False
        )
    )
    assert again.visitor.id == known.visitor.id
