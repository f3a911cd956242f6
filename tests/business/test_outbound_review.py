"""The review of outbound threads to a known visitor (issue 10): their context is masked
as a started thread's is, a ``sub`` bound by an outbound thread is provisional until a
token verifies it (and the first signed visit keeps the anonymous visitor it comes as),
and only a caller that may create visitors creates one for a new ``sub``. On the fakes,
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from business import commands as c
from business.errors import Forbidden
from business.identity_model import IdentityKey, IdentityMode, KeyAlgorithm
from business.identity_settings import ConfigureIdentity, IdentitySettingsService
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, VisitorId
from business.outbound_visitors import OpenThreadToVisitor
from business.ports import UnitOfWorkFactory
from business.sessions import SessionService
from business.transactions import Transactions
from tests.fakes_identity import FakeIdentityVerifier
from tests.harness import ALICE, World, make_world

IBAN = "DE89 3704 0044 0532 0130 00"
IBAN_MASKED = "**** **** **** **** **30 00"


@pytest.fixture
async def world(uow_factory: UnitOfWorkFactory) -> World:
    """Alice serves ``support`` (messaging); signed identities are on, the claim
    ``iban`` shown to agents as the custom field ``Account``."""
    world = await make_world(uow=uow_factory)
    await world.agent(ALICE, max_chats=20)
    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, mode="messaging")
    )
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
            extra_fields={"iban": "Account"},
        )
    )
    return world


def sessions(world: World, claims: Mapping[str, object] | None = None) -> SessionService:
    """Sessions that take ``"valid:<sub>"`` identity tokens with ``claims``."""
    return SessionService(
        transactions=Transactions(world.uow, world.services.publisher),
        clock=world.clock,
        identity_verifier=FakeIdentityVerifier(claims or {}),
    )


def to(
    *, visitor: VisitorId | None = None, sub: str | None = None, may_create: bool = True
) -> OpenThreadToVisitor:
    return OpenThreadToVisitor(
        tenant_id=DEFAULT_TENANT,
        queue=DEFAULT_QUEUE,
        agent_address=ALICE,
        text="Your refund is on its way",
        visitor_id=visitor,
        sub=sub,
        may_create_visitor=may_create,
    )


async def test_the_signed_claims_in_an_outbound_threads_context_are_masked(
    world: World,
) -> None:
    signed = await sessions(world, {"extra": {"iban": IBAN}}).open_session(
        c.OpenSession(tenant_id=DEFAULT_TENANT, identity="valid:customer-42")
    )
    threads = world.services.outbound_visitor_threads

    for cmd in (to(sub="customer-42"), to(visitor=signed.visitor.id)):
        opened = await threads.open_thread(cmd)

        stored = await world.conversations.get_conversation(opened.id)
        assert stored.context.custom["Account"] == IBAN_MASKED
        assert IBAN not in repr(stored.context)


async def test_the_first_signed_visit_keeps_the_anonymous_visitor_and_their_running_chat(
    world: World,
) -> None:
    anonymous = await sessions(world).open_session(c.OpenSession(tenant_id=DEFAULT_TENANT))
    running = await world.start(anonymous.visitor.id, "Where is my parcel?")
    outbound = await world.services.outbound_visitor_threads.open_thread(to(sub="customer-42"))
    assert outbound.visitor_id != anonymous.visitor.id  # a placeholder until they sign in

    signed = await sessions(world, {"name": "Ada Lovelace"}).open_session(
        c.OpenSession(
            tenant_id=DEFAULT_TENANT,
            visitor_token=anonymous.visitor_token,
            identity="valid:customer-42",
        )
    )

    assert signed.visitor.id == anonymous.visitor.id
    assert signed.visitor_token == anonymous.visitor_token  # their device keeps its token
    listed = await world.services.threads.threads(signed.visitor.id)
    assert {thread.id for thread in listed} == {running.id, outbound.id}
    moved = await world.conversations.get_conversation(outbound.id)
    assert (moved.visitor_id, moved.visitor_name) == (anonymous.visitor.id, "Ada Lovelace")
    async with world.uow() as uow:
        bound = await uow.visitor_identities.get_by_sub(DEFAULT_TENANT, "customer-42")
    assert bound is not None
    assert bound.visitor_id == anonymous.visitor.id
    assert bound.verified_at == world.clock.now()
    # Another device signing in as them later reaches the same visitor and both threads.
    laptop = await sessions(world).open_session(
        c.OpenSession(tenant_id=DEFAULT_TENANT, identity="valid:customer-42")
    )
    assert laptop.visitor.id == anonymous.visitor.id


async def test_a_binding_made_by_an_outbound_thread_is_provisional_until_a_token_verifies_it(
    world: World,
) -> None:
    opened = await world.services.outbound_visitor_threads.open_thread(to(sub="customer-42"))
    async with world.uow() as uow:
        bound = await uow.visitor_identities.get_by_sub(DEFAULT_TENANT, "customer-42")
    assert bound is not None
    assert bound.verified_at is None

    # A visit with no visitor of its own takes the placeholder, verified from now on.
    world.advance(60)
    session = await sessions(world).open_session(
        c.OpenSession(tenant_id=DEFAULT_TENANT, identity="valid:customer-42")
    )

    assert session.visitor.id == opened.visitor_id
    async with world.uow() as uow:
        bound = await uow.visitor_identities.get_by_sub(DEFAULT_TENANT, "customer-42")
    assert bound is not None
    assert bound.verified_at == world.clock.now()


async def test_only_a_caller_that_may_create_visitors_opens_to_a_new_sub(world: World) -> None:
    threads = world.services.outbound_visitor_threads
    with pytest.raises(Forbidden, match="only an administrator may create a visitor"):
        await threads.open_thread(to(sub="new-customer", may_create=False))
    async with world.uow() as uow:
        assert await uow.visitor_identities.get_by_sub(DEFAULT_TENANT, "new-customer") is None

    # A sub somebody is already: any caller.
    first = await threads.open_thread(to(sub="new-customer"))
    again = await threads.open_thread(to(sub="new-customer", may_create=False))
    assert again.visitor_id == first.visitor_id
