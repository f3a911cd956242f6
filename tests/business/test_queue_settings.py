"""Queue settings (``QueueSettingsService``), on the fakes, SQLite and PostgreSQL: the
service only reads and writes through its ports, so each backend must behave the same."""

from __future__ import annotations

import pytest

from business import commands as c
from business.errors import InvalidInput, NotFound
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, Queue, QueueName
from business.ports import UnitOfWorkFactory
from tests.harness import World, make_world


@pytest.fixture
async def world(uow_factory: UnitOfWorkFactory) -> World:
    return await make_world(uow=uow_factory)


def configure(**settings: object) -> c.ConfigureQueue:
    return c.ConfigureQueue(
        tenant_id=DEFAULT_TENANT,
        queue=settings.pop("queue", DEFAULT_QUEUE),  # type: ignore[arg-type]
        **settings,  # type: ignore[arg-type]
    )


async def stored(world: World, queue: QueueName = DEFAULT_QUEUE) -> Queue:
    found = await world.services.queue_settings.get(DEFAULT_TENANT, queue)
    assert found is not None
    return found


async def test_a_new_queue_has_the_defaults(world: World) -> None:
    queue = await stored(world)
    assert queue.offer_timeout == 20
    assert queue.wrap_up_codes == ()
    assert not queue.require_wrap_up
    assert queue.skills == {}
    assert queue.last_agent_window == 86400
    assert queue.max_waiting is None


async def test_every_setting_is_stored_and_read_back(world: World) -> None:
    returned = await world.services.queue_settings.configure(
        configure(
            max_waiting=40,
            offer_timeout=45,
            wrap_up_codes=("resolved", "callback", "spam"),
            require_wrap_up=True,
            skills={"french": 2, "billing": 1},
            last_agent_window=3600,
        )
    )
    expected = Queue(
        tenant_id=DEFAULT_TENANT,
        name=DEFAULT_QUEUE,
        title="Support",
        max_waiting=40,
        offer_timeout=45,
        wrap_up_codes=("resolved", "callback", "spam"),
        require_wrap_up=True,
        skills={"billing": 1, "french": 2},
        last_agent_window=3600,
    )
    assert returned == expected
    assert await stored(world) == expected


async def test_settings_not_given_stay_as_they_are(world: World) -> None:
    settings = world.services.queue_settings
    await settings.configure(configure(offer_timeout=5, skills={"billing": 2}, max_waiting=9))
    await settings.configure(configure(wrap_up_codes=("resolved",)))
    queue = await stored(world)
    assert queue.offer_timeout == 5
    assert queue.skills == {"billing": 2}
    assert queue.max_waiting == 9
    assert queue.wrap_up_codes == ("resolved",)
    # Other queues are not touched.
    assert (await stored(world, QueueName("sales"))).offer_timeout == 20


async def test_lists_can_be_emptied_and_the_window_turned_off(world: World) -> None:
    settings = world.services.queue_settings
    await settings.configure(configure(wrap_up_codes=("resolved",), skills={"billing": 1}))
    queue = await settings.configure(configure(wrap_up_codes=(), skills={}, last_agent_window=0))
    assert queue.wrap_up_codes == ()
    assert queue.skills == {}
    assert queue.last_agent_window is None
    assert await stored(world) == queue


async def test_max_waiting_and_its_default(world: World) -> None:
    settings = world.services.queue_settings
    assert (await settings.configure(configure(max_waiting=3))).max_waiting == 3
    assert (await settings.configure(configure(default_max_waiting=True))).max_waiting is None
    with pytest.raises(InvalidInput, match="either"):
        await settings.configure(configure(max_waiting=3, default_max_waiting=True))
    # The old entry point still works.
    queue = await world.tenants.set_queue_limit(DEFAULT_TENANT, DEFAULT_QUEUE, 7)
    assert queue.max_waiting == 7
    assert (await stored(world)).max_waiting == 7


async def test_the_waiting_count_is_not_overwritten(world: World) -> None:
    await world.start(await world.visitor())
    await world.services.queue_settings.configure(configure(offer_timeout=30))
    world.advance(1)
    second = await world.start(await world.visitor())
    assert second.queue_position == 2
    assert (await stored(world)).waiting == 2


async def test_requiring_a_wrap_up_code_needs_codes(world: World) -> None:
    settings = world.services.queue_settings
    with pytest.raises(InvalidInput, match="without any wrap-up codes"):
        await settings.configure(configure(require_wrap_up=True))
    assert not (await stored(world)).require_wrap_up
    # Codes stored earlier count, and cannot then be removed while required.
    await settings.configure(configure(wrap_up_codes=("resolved",)))
    assert (await settings.configure(configure(require_wrap_up=True))).require_wrap_up
    with pytest.raises(InvalidInput, match="without any wrap-up codes"):
        await settings.configure(configure(wrap_up_codes=()))
    assert (await stored(world)).wrap_up_codes == ("resolved",)
    queue = await settings.configure(configure(wrap_up_codes=(), require_wrap_up=False))
    assert (queue.wrap_up_codes, queue.require_wrap_up) == ((), False)


async def test_wrap_up_codes_keep_their_order_once_each(world: World) -> None:
    queue = await world.services.queue_settings.configure(
        configure(wrap_up_codes=("spam", "resolved", "spam"))
    )
    assert queue.wrap_up_codes == ("spam", "resolved")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"offer_timeout": 0}, "offer timeout must be 1 to 600 seconds, not 0"),
        ({"offer_timeout": 601}, "offer timeout must be 1 to 600 seconds, not 601"),
        ({"wrap_up_codes": ("Resolved",)}, "wrap-up code 'Resolved' must be a lower-case word"),
        ({"wrap_up_codes": ("call back",)}, "wrap-up code 'call back' must be a lower-case"),
        ({"wrap_up_codes": ("x" * 33,)}, "must be a lower-case word"),
        ({"wrap_up_codes": tuple(f"c{i}" for i in range(21))}, "at most 20 wrap-up codes"),
        ({"skills": {"billing": 0}}, "skill 'billing' must be between 1 and 10, not 0"),
        ({"skills": {"billing": 11}}, "must be between 1 and 10, not 11"),
        ({"skills": {"Billing": 1}}, "skill 'Billing' must be a lower-case word"),
        ({"skills": {"": 1}}, "skill '' must be a lower-case word"),
        ({"last_agent_window": -1}, "last-agent window must be 0 \\(off\\)"),
        ({"max_waiting": 0}, "at least 1"),
    ],
)
async def test_bad_settings_are_refused_and_nothing_changes(
    world: World, settings: dict[str, object], message: str
) -> None:
    before = await stored(world)
    # A good setting given with the bad one is not stored either.
    with pytest.raises(InvalidInput, match=message):
        await world.services.queue_settings.configure(configure(**{"offer_timeout": 9, **settings}))
    assert await stored(world) == before


async def test_the_limits_themselves_are_accepted(world: World) -> None:
    settings = world.services.queue_settings
    assert (await settings.configure(configure(offer_timeout=1))).offer_timeout == 1
    assert (await settings.configure(configure(offer_timeout=600))).offer_timeout == 600
    codes = tuple(f"code-{i}" for i in range(20))
    assert (await settings.configure(configure(wrap_up_codes=codes))).wrap_up_codes == codes
    skills = {"a" * 32: 10, "b": 1}
    assert (await settings.configure(configure(skills=skills))).skills == skills


async def test_an_unknown_queue_is_not_found(world: World) -> None:
    with pytest.raises(NotFound, match="unknown queue 'nowhere'"):
        await world.services.queue_settings.configure(
            configure(queue=QueueName("nowhere"), offer_timeout=5)
        )
    assert await world.services.queue_settings.get(DEFAULT_TENANT, QueueName("nowhere")) is None
