"""Outbound threads to a known visitor with no conversation to start from
(``business.outbound_visitors``): by visitor id or by signed ``sub``, to a visitor who
never chatted in the queue, to a ``sub`` nobody has signed in as yet, and the refusals.
On the fakes, SQLite and PostgreSQL (the SQL runs also store the new visitor and its
identity binding in one transaction with the thread)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from business import commands as c
from business.errors import InvalidInput, InvalidTransition, NotFound
from business.events import MessagePosted
from business.identity_model import IdentityKey, IdentityMode, KeyAlgorithm
from business.identity_settings import ConfigureIdentity, IdentitySettingsService
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    ConversationState,
    QueueName,
    TenantId,
    VisitorId,
)
from business.outbound_visitors import OpenThreadToVisitor
from business.sessions import SessionService
from business.threads import IDENTITY_INITIATED, MAX_OPEN_THREADS, ThreadRefused
from business.transactions import Transactions
from tests.conftest import BACKENDS, open_database
from tests.fakes_identity import FakeIdentityVerifier
from tests.harness import (
    ALICE,
    SALES,
    World,
    assert_published_once,
    assert_store_consistent,
    make_world,
)

IBAN = "DE89 3704 0044 0532 0130 00"
IBAN_MASKED = "**** **** **** **** **30 00"
BILLING = QueueName("billing")
"""A messaging queue Alice is not an agent of."""
OTHER = TenantId("other")


@pytest.fixture(params=[pytest.param("fake", id="fake"), *BACKENDS])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    """Alice serves ``support`` (messaging) and ``sales`` (live); ``billing`` is a
    messaging queue of nobody's."""

    async def prepare(world: World) -> World:
        await world.agent(ALICE, queues=(DEFAULT_QUEUE, SALES), max_chats=20)
        await world.services.queues.create(c.CreateQueue(tenant_id=DEFAULT_TENANT, queue=BILLING))
        for queue in (DEFAULT_QUEUE, BILLING):
            await world.services.queue_settings.configure(
                c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=queue, mode="messaging")
            )
        return world

    if request.param == "fake":
        fake = await prepare(await make_world())
        yield fake
        assert_store_consistent(fake.fakes)
        assert_published_once(fake)
        return
    async with open_database(request.param, tmp_path) as db:
        yield await prepare(await make_world(uow=db.unit_of_work))


def to(
    *,
    visitor: VisitorId | None = None,
    sub: str | None = None,
    queue: QueueName = DEFAULT_QUEUE,
    text: str = "Your parcel is here",
    agent: str = ALICE,
    tenant: TenantId = DEFAULT_TENANT,
) -> OpenThreadToVisitor:
    return OpenThreadToVisitor(
        tenant_id=tenant, queue=queue, agent_address=agent, text=text, visitor_id=visitor, sub=sub
    )


def signed_sessions(world: World) -> SessionService:
    """Sessions that take ``"valid:<sub>"`` identity tokens."""
    return SessionService(
        transactions=Transactions(world.uow, world.services.publisher),
        clock=world.clock,
        identity_verifier=FakeIdentityVerifier({"name": "Ada Lovelace"}),
    )


async def identities_on(world: World) -> None:
    await IdentitySettingsService(
        transactions=Transactions(world.uow, world.services.publisher),
        clock=world.clock,
        verifier=FakeIdentityVerifier({}),
    ).configure(
        ConfigureIdentity(
            tenant_id=DEFAULT_TENANT,
            mode=IdentityMode.OPTIONAL,
            audience="https://shop.example",
            keys=[IdentityKey(kid=None, algorithm=KeyAlgorithm.HS256, material="s" * 32)],
        )
    )


async def test_a_visitor_who_never_chatted_finds_the_thread_unread_and_parked(
    world: World,
) -> None:
    visitor = await world.visitor()

    opened = await world.services.outbound_visitor_threads.open_thread(
        to(visitor=visitor, text=f"refund to {IBAN} sent")
    )

    assert opened.visitor_id == visitor
    assert opened.queue == DEFAULT_QUEUE
    assert opened.state is ConversationState.ON_HOLD  # takes none of Alice's places
    assert opened.agent_id == ALICE
    assert opened.context.custom[IDENTITY_INITIATED] == "false"
    (message,) = [e for e in world.published(opened.id) if isinstance(e, MessagePosted)]
    assert message.text == f"refund to {IBAN_MASKED} sent"  # the tenant's redaction
    (listed,) = await world.services.threads.threads(visitor)
    assert (listed.id, listed.unread) == (opened.id, 1)
    assert listed.preview == f"refund to {IBAN_MASKED} sent"
    # Their answer brings it back to Alice, who is ready and has room.
    await world.visitor_says(visitor, opened.id, "Thanks!")
    back = await world.conversations.get_conversation(opened.id)
    assert (back.state, back.agent_id) == (ConversationState.ACTIVE, ALICE)


async def test_by_sub_it_goes_to_the_identified_visitor(world: World) -> None:
    await identities_on(world)
    sessions = signed_sessions(world)
    signed = await sessions.open_session(
        c.OpenSession(tenant_id=DEFAULT_TENANT, identity="valid:customer-42")
    )

    opened = await world.services.outbound_visitor_threads.open_thread(to(sub="customer-42"))

    assert opened.visitor_id == signed.visitor.id
    assert opened.visitor_name == "Ada Lovelace"
    # A sub is matched exactly, as the token's is: " customer-42" is somebody else.
    spaced = await world.services.outbound_visitor_threads.open_thread(to(sub=" customer-42"))
    assert spaced.visitor_id != signed.visitor.id


async def test_a_sub_nobody_signed_in_as_gets_its_visitor_who_finds_the_thread_at_sign_in(
    world: World,
) -> None:
    await identities_on(world)

    opened = await world.services.outbound_visitor_threads.open_thread(to(sub="new-customer"))

    # Their first signed visit, on any device, is that visitor, with the thread unread.
    session = await signed_sessions(world).open_session(
        c.OpenSession(tenant_id=DEFAULT_TENANT, identity="valid:new-customer")
    )
    assert session.visitor.id == opened.visitor_id
    assert not session.is_new
    (listed,) = await world.services.threads.threads(session.visitor.id)
    assert (listed.id, listed.unread, listed.state) == (opened.id, 1, ConversationState.ON_HOLD)
    # A second thread by the same sub goes to the same visitor.
    again = await world.services.outbound_visitor_threads.open_thread(to(sub="new-customer"))
    assert again.visitor_id == opened.visitor_id


async def test_a_new_sub_is_refused_while_identities_are_off(world: World) -> None:
    with pytest.raises(InvalidTransition, match="signed identities are off"):
        await world.services.outbound_visitor_threads.open_thread(to(sub="new-customer"))
    async with world.uow() as uow:
        assert await uow.visitor_identities.get_by_sub(DEFAULT_TENANT, "new-customer") is None


async def test_refusals_name_what_is_wrong(world: World) -> None:
    visitor = await world.visitor()
    threads = world.services.outbound_visitor_threads
    with pytest.raises(InvalidTransition, match="sales is a live queue"):
        await threads.open_thread(to(visitor=visitor, queue=SALES))
    with pytest.raises(InvalidTransition, match="not an agent of queue billing"):
        await threads.open_thread(to(visitor=visitor, queue=BILLING))
    with pytest.raises(NotFound, match="no queue"):
        await threads.open_thread(to(visitor=visitor, queue=QueueName("nowhere")))
    with pytest.raises(NotFound, match="no agent"):
        await threads.open_thread(to(visitor=visitor, agent="nobody@example.com"))
    with pytest.raises(NotFound, match="no visitor"):
        await threads.open_thread(to(visitor=VisitorId("0" * 32)))
    with pytest.raises(InvalidInput, match="exactly one"):
        await threads.open_thread(to())
    with pytest.raises(InvalidInput, match="exactly one"):
        await threads.open_thread(to(visitor=visitor, sub="customer-42"))
    for sub in ("", "   ", "x" * 256, "a\x00b"):
        with pytest.raises(InvalidInput):
            await threads.open_thread(to(sub=sub))
    with pytest.raises(InvalidInput):
        await threads.open_thread(to(visitor=visitor, text="  "))
    # Another tenant's visitor is nobody's to this tenant.
    await world.tenants.ensure_tenant(OTHER, name="Other", queues=(DEFAULT_QUEUE,))
    theirs = await world.visitor(OTHER)
    with pytest.raises(NotFound, match="no visitor"):
        await threads.open_thread(to(visitor=theirs))
    assert await world.services.threads.threads(visitor) == []


async def test_the_visitors_open_threads_stay_bounded(world: World) -> None:
    visitor = await world.visitor()
    for _ in range(MAX_OPEN_THREADS):
        await world.services.outbound_visitor_threads.open_thread(to(visitor=visitor))
    with pytest.raises(ThreadRefused):
        await world.services.outbound_visitor_threads.open_thread(to(visitor=visitor))
