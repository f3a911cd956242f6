"""Signed identities beyond the connect: an identified visitor's token alone reads
nothing (the visitor's HTTP reads follow the connect's rule), device tokens stay
bounded (a cap per visitor, idle ones expire and go), and two browsers binding the same
new ``sub`` at once both get in. On the fakes, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from business import commands as c
from business.errors import Unauthenticated
from business.identity_model import DEVICE_TOKEN_IDLE_DAYS, MAX_DEVICE_TOKENS, IdentityMode
from business.model import DEFAULT_TENANT
from business.transactions import Transactions
from business.visitor_events import ReadVisitorEvent, VisitorEventService
from business.visitor_tokens import hash_token
from tests.business.test_identities import Site, site

__all__ = ["site"]

DAY = 86400.0


def _events(site: Site) -> VisitorEventService:
    return VisitorEventService(
        transactions=Transactions(site.world.uow, site.world.services.publisher),
        clock=site.world.clock,
        identity_verifier=site.verifier,
    )


async def test_an_identified_visitors_token_alone_reads_none_of_its_events(site: Site) -> None:
    await site.mode(IdentityMode.OPTIONAL)
    laptop = await site.connect(identity="valid:u1")
    conversation = await site.world.services.conversations.start_conversation(
        c.StartConversation(visitor_id=laptop.visitor.id)
    )
    phone = await site.connect(identity="valid:u1")  # a device token of the same visitor
    assert phone.visitor.id == laptop.visitor.id
    events = _events(site)

    def read(token: str, identity: str | None = None) -> ReadVisitorEvent:
        return ReadVisitorEvent(
            tenant_id=DEFAULT_TENANT,
            visitor_token=token,
            identity=identity,
            conversation_id=conversation.id,
            seq=1,
        )

    for token in (laptop.visitor_token, phone.visitor_token):
        for identity in (None, "valid:u2", "forged"):
            with pytest.raises(Unauthenticated):
                await events.event(read(token, identity))
        assert (await events.event(read(token, "valid:u1"))).seq == 1
    # An anonymous visitor's token is enough while identities are optional, as at a
    # connect; once they are required, no read goes without one.
    anonymous = await site.connect()
    mine = await site.world.services.conversations.start_conversation(
        c.StartConversation(visitor_id=anonymous.visitor.id)
    )
    anonymous_read = ReadVisitorEvent(
        tenant_id=DEFAULT_TENANT,
        visitor_token=anonymous.visitor_token,
        conversation_id=mine.id,
        seq=1,
    )
    assert (await events.event(anonymous_read)).seq == 1
    await site.mode(IdentityMode.REQUIRED)
    with pytest.raises(Unauthenticated, match="identity_required"):
        await events.event(anonymous_read)
    assert (await events.event(read(laptop.visitor_token, "valid:u1"))).seq == 1


async def _device_row_exists(site: Site, token: str) -> bool:
    async with Transactions(site.world.uow, site.world.services.publisher).read() as tx:
        found = await tx.visitor_identities.device_token(DEFAULT_TENANT, hash_token(token))
    return found is not None


async def test_a_visitor_keeps_its_most_recently_used_device_tokens_only(site: Site) -> None:
    await site.mode(IdentityMode.OPTIONAL)
    first = await site.connect(identity="valid:u1")
    devices = []
    for _ in range(MAX_DEVICE_TOKENS + 1):
        site.world.advance(2 * 3600)  # past the hour a use is not written again
        devices.append((await site.connect(identity="valid:u1")).visitor_token)
        # The oldest device keeps being used: it stays.
        again = await site.connect(token=devices[0], identity="valid:u1")
        assert again.visitor_token == devices[0]
    kept = [await _device_row_exists(site, token) for token in devices]
    assert kept == [True, False] + [True] * (MAX_DEVICE_TOKENS - 1)
    # The dropped device comes back with a new token of the same visitor.
    back = await site.connect(token=devices[1], identity="valid:u1")
    assert (back.visitor.id, back.is_new) == (first.visitor.id, False)
    assert back.visitor_token != devices[1]
    # The visitor's own first token is no device token, and is never dropped.
    assert (await site.connect(token=first.visitor_token, identity="valid:u1")).visitor_token == (
        first.visitor_token
    )


async def test_an_idle_device_token_reaches_nobody_and_is_deleted(site: Site) -> None:
    await site.mode(IdentityMode.OPTIONAL)
    first = await site.connect(identity="valid:u1")
    used = (await site.connect(identity="valid:u1")).visitor_token
    idle = (await site.connect(identity="valid:u1")).visitor_token
    site.world.advance((DEVICE_TOKEN_IDLE_DAYS - 10) * DAY)
    assert (await site.connect(token=used, identity="valid:u1")).visitor_token == used
    site.world.advance(20 * DAY)  # idle is past the limit; used was used 20 days ago
    assert (await site.connect(token=used, identity="valid:u1")).visitor_token == used
    assert await _device_row_exists(site, idle)  # nothing deleted it yet ...
    late = await site.connect(token=idle, identity="valid:u1")
    assert late.visitor.id == first.visitor.id
    assert late.visitor_token != idle  # ... but it reaches nobody: a new device token
    assert not await _device_row_exists(site, idle)  # whose issue deleted the idle one
    assert await _device_row_exists(site, used)


async def test_two_browsers_binding_the_same_new_sub_at_once_both_get_in(site: Site) -> None:
    await site.mode(IdentityMode.OPTIONAL)
    for round_ in range(5):
        sub = f"valid:race-{round_}"
        one, other = await asyncio.gather(site.connect(identity=sub), site.connect(identity=sub))
        assert one.visitor.id == other.visitor.id
        assert one.visitor_token != other.visitor_token
