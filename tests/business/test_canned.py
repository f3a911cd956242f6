"""Canned responses (``CannedService``), on the fakes, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from business import commands as c
from business.canned import CannedService
from business.errors import InvalidInput, NotFound, TooLarge
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, QueueName, TenantId
from business.ports import UnitOfWorkFactory
from business.validation import Limits
from tests.harness import SALES, World, make_world

SUPPORT = DEFAULT_QUEUE


@pytest.fixture
async def world(uow_factory: UnitOfWorkFactory) -> World:
    return await make_world(
        uow=uow_factory, limits=Limits(max_text_length=50), tenants={TenantId("acme"): "Acme"}
    )


def canned(world: World) -> CannedService:
    return world.services.canned


async def add(
    world: World, name: str, text: str, queue: QueueName | None = None, tenant: str = "default"
) -> None:
    await canned(world).add(
        c.AddCannedResponse(tenant_id=TenantId(tenant), queue=queue, name=name, text=text)
    )


def remove(name: str, queue: QueueName | None = None) -> c.RemoveCannedResponse:
    return c.RemoveCannedResponse(tenant_id=DEFAULT_TENANT, queue=queue, name=name)


async def listed(
    world: World, queue: QueueName | None = None, tenant: str = "default"
) -> list[tuple[str | None, str, str]]:
    return [(r.queue, r.name, r.text) for r in await canned(world).list(TenantId(tenant), queue)]


async def test_responses_are_listed_tenant_wide_first_then_by_queue_and_name(
    world: World,
) -> None:
    await add(world, "thanks", "Thank you!", SUPPORT)
    await add(world, "hello", "Hello {visitor}")
    await add(world, "bye", "Goodbye", SUPPORT)
    await add(world, "offer", "10% off", SALES)
    await add(world, "hello", "Acme says hi", tenant="acme")
    assert await listed(world) == [
        (None, "hello", "Hello {visitor}"),
        ("sales", "offer", "10% off"),
        ("support", "bye", "Goodbye"),
        ("support", "thanks", "Thank you!"),
    ]
    assert await listed(world, tenant="acme") == [(None, "hello", "Acme says hi")]


async def test_a_queue_gets_its_own_and_the_tenant_wide_ones_its_own_winning(
    world: World,
) -> None:
    await add(world, "hello", "Hello from everybody")
    await add(world, "bye", "Goodbye")
    await add(world, "hello", "Hello from support", SUPPORT)
    await add(world, "refund", "Refunds take 3 days", SUPPORT)
    assert await listed(world, SUPPORT) == [
        (None, "bye", "Goodbye"),
        ("support", "hello", "Hello from support"),
        ("support", "refund", "Refunds take 3 days"),
    ]
    assert await listed(world, SALES) == [
        (None, "bye", "Goodbye"),
        (None, "hello", "Hello from everybody"),
    ]
    own = await canned(world).find(DEFAULT_TENANT, SUPPORT, "hello")
    assert own is not None
    assert own.text == "Hello from support"
    shared = await canned(world).find(DEFAULT_TENANT, SALES, "hello")
    assert shared is not None
    assert (shared.queue, shared.text) == (None, "Hello from everybody")
    assert await canned(world).find(DEFAULT_TENANT, SALES, "refund") is None
    with pytest.raises(NotFound, match="unknown queue 'suport'"):
        await canned(world).list(DEFAULT_TENANT, QueueName("suport"))


async def test_adding_a_name_again_replaces_its_text_and_keeps_its_age(world: World) -> None:
    added_at = world.clock.now()
    await add(world, "hello", "Hi", SUPPORT)
    first = await canned(world).find(DEFAULT_TENANT, SUPPORT, "hello")
    world.advance(60)
    await add(world, "hello", "Hello there", SUPPORT)
    again = await canned(world).find(DEFAULT_TENANT, SUPPORT, "hello")
    assert first is not None
    assert again is not None
    assert again.text == "Hello there"
    assert again.created_at == first.created_at == added_at
    assert await listed(world) == [("support", "hello", "Hello there")]


async def test_remove_takes_exactly_the_one_named(world: World) -> None:
    await add(world, "hello", "Everybody")
    await add(world, "hello", "Support", SUPPORT)
    await canned(world).remove(remove("hello", SUPPORT))
    assert await listed(world) == [(None, "hello", "Everybody")]
    with pytest.raises(NotFound, match="no canned response 'hello' of queue 'support'"):
        await canned(world).remove(remove("hello", SUPPORT))
    await canned(world).remove(remove("hello"))
    assert await listed(world) == []
    with pytest.raises(NotFound, match="no canned response 'hello' tenant-wide"):
        await canned(world).remove(remove("hello"))


@pytest.mark.parametrize(
    ("name", "text", "error", "message"),
    [
        ("Greeting", "Hi", InvalidInput, "canned response name 'Greeting' must be a lower-case"),
        ("two words", "Hi", InvalidInput, "must be a lower-case word"),
        ("1st", "Hi", InvalidInput, "must be a lower-case word"),
        ("", "Hi", InvalidInput, "must be a lower-case word"),
        ("x" * 33, "Hi", InvalidInput, "must be a lower-case word"),
        ("hello", "   ", InvalidInput, "canned response text must not be empty"),
        ("hello", "x" * 51, TooLarge, "longer than 50 characters"),
        ("hello", "nul\x00", InvalidInput, "NUL"),
    ],
)
async def test_bad_names_and_texts_are_refused(
    world: World, name: str, text: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        await add(world, name, text, SUPPORT)
    assert await listed(world) == []


async def test_the_longest_name_and_text_are_accepted(world: World) -> None:
    await add(world, "a" * 32, "x" * 50)
    assert await listed(world) == [(None, "a" * 32, "x" * 50)]


@pytest.mark.parametrize(
    ("queue", "tenant", "error", "message"),
    [
        (QueueName("nowhere"), "default", NotFound, "unknown queue 'nowhere'"),
        (QueueName("Bad Queue"), "default", InvalidInput, "queue name 'Bad Queue'"),
        (None, "nobody", NotFound, "unknown tenant 'nobody'"),
    ],
)
async def test_a_response_needs_a_place_that_exists(
    world: World, queue: QueueName | None, tenant: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        await add(world, "hello", "Hi", queue, tenant=tenant)
    assert await listed(world) == []


# -- render -----------------------------------------------------------------------------


def render(text: str, visitor: str = "Ann", agent: str = "Sam", queue: str = "support") -> str:
    return CannedService.render(text, visitor=visitor, agent=agent, queue=queue)


def test_placeholders_are_filled_in_everywhere() -> None:
    assert (
        render("Hello {visitor}, I am {agent} from {queue}. Bye {visitor}!")
        == "Hello Ann, I am Sam from support. Bye Ann!"
    )


def test_other_braces_stay_as_written() -> None:
    text = "Use {name}, {0}, {visitor.__class__}, {{visitor}} and {Visitor} as you like"
    assert render(text) == "Use {name}, {0}, {visitor.__class__}, {Ann} and {Visitor} as you like"


def test_a_value_is_never_filled_in_again() -> None:
    # A visitor may call themselves anything, placeholders included.
    assert render("Hi {visitor}, {agent} here", visitor="{agent} {queue}") == (
        "Hi {agent} {queue}, Sam here"
    )
    assert render("{agent}", agent="{visitor}") == "{visitor}"


def test_a_text_without_placeholders_is_unchanged() -> None:
    assert render("Opening hours: 9-17 (CET) 100%") == "Opening hours: 9-17 (CET) 100%"
