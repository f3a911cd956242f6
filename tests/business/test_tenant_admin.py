"""Creating tenants and queues, and removing agents (``TenantService.create_tenant``,
``QueueService``, ``AgentRemovalService``), on the fakes, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from business import commands as c
from business.errors import AlreadyExists, InvalidInput, InvalidTransition, NotFound
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, AgentId, QueueName, TenantId
from business.ports import UnitOfWorkFactory
from tests.harness import World, make_world

ACME = TenantId("acme")


@pytest.fixture
async def world(uow_factory: UnitOfWorkFactory) -> World:
    return await make_world(uow=uow_factory, queues=(DEFAULT_QUEUE,), tenants={ACME: "Acme"})


# -- tenants --------------------------------------------------------------------------


async def test_a_tenant_is_made_with_the_default_queue(world: World) -> None:
    tenant = await world.tenants.create_tenant(c.CreateTenant(name="Northwind Coffee"))
    assert tenant.id == "northwind-coffee"
    assert tenant.name == "Northwind Coffee"
    assert tenant.created_at == world.clock.now()
    assert await world.tenants.get_tenant(tenant.id) == tenant
    assert [q.name for q in await world.tenants.list_queues(tenant.id)] == [DEFAULT_QUEUE]
    # A visitor can open a session with its widget key at once.
    assert await world.visitor(tenant.id)


@pytest.mark.parametrize(
    ("name", "tenant_id", "expected"),
    [
        ("  Café  Olé! ", None, "caf-ol"),
        ("Shop", "shop-2", "shop-2"),
        ("X" * 100, None, "x" * 64),
    ],
)
async def test_tenant_ids(world: World, name: str, tenant_id: str | None, expected: str) -> None:
    given = None if tenant_id is None else TenantId(tenant_id)
    tenant = await world.tenants.create_tenant(c.CreateTenant(name=name, tenant_id=given))
    assert tenant.id == expected


@pytest.mark.parametrize(
    ("name", "tenant_id", "error"),
    [
        ("Acme", "acme", AlreadyExists),
        ("Default", None, AlreadyExists),
        ("", None, InvalidInput),
        ("   ", None, InvalidInput),
        ("x" * 101, None, InvalidInput),
        ("!!!", None, InvalidInput),
        ("Bad", "Upper", InvalidInput),
        ("Bad", "-dash", InvalidInput),
        ("Bad", "dash-", InvalidInput),
        ("Bad", "a" * 65, InvalidInput),
        ("Nul\x00", None, InvalidInput),
    ],
)
async def test_tenant_refusals(
    world: World, name: str, tenant_id: str | None, error: type[Exception]
) -> None:
    given = None if tenant_id is None else TenantId(tenant_id)
    with pytest.raises(error):
        await world.tenants.create_tenant(c.CreateTenant(name=name, tenant_id=given))
    assert [t.id for t in await world.tenants.list_tenants()] == ["acme", "default"]


async def test_tenants_are_listed_by_id_in_pages(world: World) -> None:
    for name in ("b", "c", "d"):
        await world.tenants.create_tenant(c.CreateTenant(name=name))
    first = await world.tenants.list_tenants(limit=2)
    assert [t.id for t in first] == ["acme", "b"]
    rest = await world.tenants.list_tenants(after=first[-1].id, limit=10)
    assert [t.id for t in rest] == ["c", "d", "default"]
    with pytest.raises(NotFound):
        await world.tenants.get_tenant(TenantId("nobody"))


# -- queues ---------------------------------------------------------------------------


async def test_a_queue_is_made_with_its_settings_checked_like_configure(world: World) -> None:
    services = world.services
    name = QueueName("billing")
    settings = c.ConfigureQueue(
        tenant_id=DEFAULT_TENANT,
        queue=name,
        offer_timeout=40,
        wrap_up_codes=("paid", "paid", "refund"),
        require_wrap_up=True,
        skills={"billing": 2},
        last_agent_window=0,
    )
    queue = await services.queues.create(
        c.CreateQueue(tenant_id=DEFAULT_TENANT, queue=name, settings=settings)
    )
    assert queue.title == "Billing"
    assert queue.offer_timeout == 40
    assert queue.wrap_up_codes == ("paid", "refund")
    assert queue.last_agent_window is None
    assert await services.queue_settings.get(DEFAULT_TENANT, name) == queue
    # Another tenant may have a queue of the same name.
    acme = await services.queues.create(c.CreateQueue(tenant_id=ACME, queue=name, title="Bills"))
    assert acme.title == "Bills"
    assert acme.offer_timeout == 20


@pytest.mark.parametrize(
    ("cmd", "error"),
    [
        (c.CreateQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE), AlreadyExists),
        (c.CreateQueue(tenant_id=TenantId("nobody"), queue=QueueName("x")), NotFound),
        (c.CreateQueue(tenant_id=DEFAULT_TENANT, queue=QueueName("Bad Name")), InvalidInput),
        (c.CreateQueue(tenant_id=DEFAULT_TENANT, queue=QueueName("x"), title=" "), InvalidInput),
        (
            c.CreateQueue(
                tenant_id=DEFAULT_TENANT,
                queue=QueueName("x"),
                settings=c.ConfigureQueue(
                    tenant_id=DEFAULT_TENANT, queue=QueueName("x"), require_wrap_up=True
                ),
            ),
            InvalidInput,
        ),
        (
            c.CreateQueue(
                tenant_id=DEFAULT_TENANT,
                queue=QueueName("x"),
                settings=c.ConfigureQueue(
                    tenant_id=DEFAULT_TENANT, queue=QueueName("x"), max_waiting=10**9
                ),
            ),
            InvalidInput,
        ),
    ],
)
async def test_queue_refusals(world: World, cmd: c.CreateQueue, error: type[Exception]) -> None:
    with pytest.raises(error):
        await world.services.queues.create(cmd)
    assert [q.name for q in await world.tenants.list_queues(DEFAULT_TENANT)] == [DEFAULT_QUEUE]


# -- removing agents --------------------------------------------------------------------


async def test_an_idle_agent_is_removed_and_the_address_is_free_again(world: World) -> None:
    alice = await world.agent(AgentId("alice@example.com"), ready=True)
    removed = await world.services.agent_removal.remove(
        c.RemoveAgent(tenant_id=DEFAULT_TENANT, agent_id=alice)
    )
    assert removed.id == alice
    assert await world.agents.get_agent(alice) is None
    assert await world.agents.find_agent("alice@example.com") is None
    assert await world.agents.list_agents(DEFAULT_TENANT) == []
    again = await world.agents.add_agent(
        c.AddAgent(
            address="alice@example.com",
            queues=(DEFAULT_QUEUE,),
            max_chats=1,
            tenant_id=ACME,
        )
    )
    assert again.tenant_id == ACME


async def test_an_agent_with_an_open_chat_or_of_another_tenant_stays(world: World) -> None:
    alice = await world.agent(AgentId("alice@example.com"), ready=True)
    conv = await world.start(await world.visitor(), "hi")
    with pytest.raises(NotFound):
        await world.services.agent_removal.remove(c.RemoveAgent(tenant_id=ACME, agent_id=alice))
    with pytest.raises(InvalidTransition, match="1 open chat"):
        await world.services.agent_removal.remove(
            c.RemoveAgent(tenant_id=DEFAULT_TENANT, agent_id=alice)
        )
    await world.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=alice, conversation_id=conv.id)
    )
    await world.services.agent_removal.remove(
        c.RemoveAgent(tenant_id=DEFAULT_TENANT, agent_id=alice)
    )
    # The ended conversation keeps who served it.
    ended = await world.conversations.get_conversation(conv.id)
    assert ended.agent_id == alice


async def test_an_agent_offered_a_chat_stays(world: World) -> None:
    alice = await world.agent(AgentId("alice@example.com"), ready=True, auto_accept=False)
    await world.start(await world.visitor(), "hi")
    with pytest.raises(InvalidTransition):
        await world.services.agent_removal.remove(
            c.RemoveAgent(tenant_id=DEFAULT_TENANT, agent_id=alice)
        )
