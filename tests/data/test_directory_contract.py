"""The repository contract for the desk's configuration (queue settings, agents' roles and
skills, canned responses), run against the in-memory fakes, SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from business.bot_model import BotConfig, BotFaq, BotMenuOption
from business.model import (
    Agent,
    AgentId,
    AgentRole,
    CannedResponse,
    Queue,
    QueueName,
    Tenant,
    TenantId,
)
from business.ports import UnitOfWorkFactory
from business.rich import parse_rich

T0 = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
TENANT = TenantId("acme")
OTHER_TENANT = TenantId("globex")
SUPPORT = QueueName("support")
SALES = QueueName("sales")
ALICE = AgentId("a-alice")


async def seed(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        for tenant in (TENANT, OTHER_TENANT):
            await uow.tenants.add(Tenant(id=tenant, name=tenant.title(), created_at=T0))
            for queue in (SUPPORT, SALES):
                await uow.queues.add(Queue(tenant_id=tenant, name=queue, title=queue.title()))
        await uow.commit()


def configured(queue: QueueName = SUPPORT) -> Queue:
    """Every setting other than its default."""
    return Queue(
        tenant_id=TENANT,
        name=queue,
        title=queue.title(),
        max_waiting=40,
        offer_timeout=45,
        wrap_up_codes=("resolved", "callback", "spam"),
        require_wrap_up=True,
        skills={"billing": 1, "french": 2},
        last_agent_window=None,
        bot=BotConfig(
            name="Ava",
            greeting="Hi, I am Ava.",
            menu=(
                BotMenuOption(id="hours", label="Opening hours", answer="9 to 5."),
                BotMenuOption(id="person", label="Talk to a person", handover=True),
            ),
            faq=(BotFaq(keywords=("refund", "money back"), answer="Five days."),),
            handover_keywords=("human",),
            handover_after_misses=0,
        ),
    )


# -- queues -----------------------------------------------------------------------------


async def test_queue_settings_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)
    full = configured(QueueName("vip"))
    async with uow_factory() as uow:
        await uow.queues.add(full)
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.queues.get(TENANT, QueueName("vip"))
        assert found == full
        assert found is not None
        assert isinstance(found.wrap_up_codes, tuple)
        assert await uow.queues.get(TENANT, SUPPORT) == Queue(
            tenant_id=TENANT, name=SUPPORT, title="Support"
        )
        listed = {q.name: q for q in await uow.queues.list(TENANT)}
        assert listed[QueueName("vip")] == full


async def test_save_settings_writes_the_settings_and_nothing_else(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    async with uow_factory() as uow:
        await uow.queues.add_waiting(TENANT, SUPPORT, 2)
        await uow.commit()
    async with uow_factory() as uow:
        # waiting and title as this writer last saw them: neither may be written back.
        await uow.queues.save_settings(dataclasses.replace(configured(), title="X", waiting=0))
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.queues.get(TENANT, SUPPORT, for_update=True)
        assert found == dataclasses.replace(configured(), waiting=2)
        assert await uow.queues.get(TENANT, SALES) == Queue(
            tenant_id=TENANT, name=SALES, title="Sales"
        )
        other = await uow.queues.get(OTHER_TENANT, SUPPORT)
        assert other is not None
        assert other.skills == {}
        # Back to the defaults.
        await uow.queues.save_settings(Queue(tenant_id=TENANT, name=SUPPORT, title="Support"))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.queues.get(TENANT, SUPPORT) == Queue(
            tenant_id=TENANT, name=SUPPORT, title="Support", waiting=2
        )


async def test_saving_the_settings_of_an_unknown_queue_is_a_key_error(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    async with uow_factory() as uow:
        with pytest.raises(KeyError):
            await uow.queues.save_settings(configured(QueueName("nowhere")))


# -- agents -----------------------------------------------------------------------------


def agent(**changes: object) -> Agent:
    base = Agent(
        id=ALICE,
        tenant_id=TENANT,
        address="alice@example.org",
        name="Alice",
        max_chats=3,
        queues=(SUPPORT,),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def test_an_agents_role_supervised_queues_and_skills_round_trip(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    supervisor = agent(
        role=AgentRole.SUPERVISOR, supervises=(SALES, SUPPORT), skills={"billing": 3, "fr": 1}
    )
    async with uow_factory() as uow:
        await uow.agents.add(supervisor)
        await uow.commit()
    # Twice: the second read may come from the agent cache, which must hold them too.
    for _ in range(2):
        async with uow_factory() as uow:
            found = await uow.agents.get(ALICE)
            assert found == supervisor
            assert found is not None
            assert found.role is AgentRole.SUPERVISOR
            assert isinstance(found.supervises, tuple)
    async with uow_factory() as uow:
        assert await uow.agents.get_by_address("alice@example.org") == supervisor
        assert list(await uow.agents.list_for_queue(TENANT, SUPPORT)) == [supervisor]


async def test_update_profile_keeps_role_and_skills_unless_given(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    async with uow_factory() as uow:
        await uow.agents.add(
            agent(role=AgentRole.SUPERVISOR, supervises=(SALES,), skills={"billing": 3})
        )
        await uow.commit()
    async with uow_factory() as uow:
        await uow.agents.update_profile(ALICE, name="A.", max_chats=4, queues=(SALES,))
        await uow.commit()
    kept = agent(
        name="A.",
        max_chats=4,
        queues=(SALES,),
        role=AgentRole.SUPERVISOR,
        supervises=(SALES,),
        skills={"billing": 3},
    )
    async with uow_factory() as uow:
        assert await uow.agents.get(ALICE) == kept
        await uow.agents.update_profile(
            ALICE,
            name="A.",
            max_chats=4,
            queues=(SALES,),
            role=AgentRole.AGENT,
            supervises=(),
            skills={"french": 2},
        )
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.agents.get(ALICE) == dataclasses.replace(
            kept, role=AgentRole.AGENT, supervises=(), skills={"french": 2}
        )


# -- canned responses -----------------------------------------------------------------


RICH = parse_rich({"list_picker": {"title": "Topics", "items": [{"id": "a", "label": "Orders"}]}})


def response(name: str, queue: QueueName | None = SUPPORT, **changes: object) -> CannedResponse:
    base = CannedResponse(
        tenant_id=TENANT, queue=queue, name=name, text=f"text of {name}", created_at=T0
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def test_canned_responses_round_trip_and_list_in_order(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    rows = [
        response("thanks"),
        response("hello", None, text="Hello {visitor} — ✓"),
        response("bye"),
        response("offer", SALES),
        response("hello", SUPPORT, created_at=T0 + timedelta(seconds=1)),
        response("hello", None, tenant_id=OTHER_TENANT),
    ]
    async with uow_factory() as uow:
        for row in rows:
            await uow.canned.put(row)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.canned.get(TENANT, None, "hello") == rows[1]
        # The queue's response and the tenant-wide one of the same name are two.
        assert await uow.canned.get(TENANT, SUPPORT, "hello") == rows[4]
        assert await uow.canned.get(TENANT, SALES, "hello") is None
        assert await uow.canned.get(OTHER_TENANT, None, "hello") == rows[5]
        assert list(await uow.canned.list(TENANT)) == [
            rows[1],
            rows[3],
            rows[2],
            rows[4],
            rows[0],
        ]
        assert list(await uow.canned.list(TENANT, [None, SALES])) == [rows[1], rows[3]]
        assert list(await uow.canned.list(TENANT, [SUPPORT])) == [rows[2], rows[4], rows[0]]
        assert list(await uow.canned.list(TENANT, [])) == []
        assert list(await uow.canned.list(TenantId("nobody"))) == []


async def test_putting_a_response_again_replaces_its_text_and_rich_content_only(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    async with uow_factory() as uow:
        await uow.canned.put(response("hello"))
        await uow.commit()
    later = T0 + timedelta(hours=1)
    async with uow_factory() as uow:
        await uow.canned.put(response("hello", text="new text", created_at=later, rich=RICH))
        await uow.commit()
    async with uow_factory() as uow:
        expected = response("hello", text="new text", rich=RICH)
        assert await uow.canned.get(TENANT, SUPPORT, "hello") == expected
        assert len(await uow.canned.list(TENANT)) == 1
    async with uow_factory() as uow:
        await uow.canned.put(response("hello", text="plain again"))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.canned.get(TENANT, SUPPORT, "hello") == response(
            "hello", text="plain again"
        )


async def test_removing_a_response_removes_only_that_one(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)
    async with uow_factory() as uow:
        await uow.canned.put(response("hello"))
        await uow.canned.put(response("hello", None))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.canned.remove(TENANT, SUPPORT, "hello")
        assert not await uow.canned.remove(TENANT, SUPPORT, "hello")
        assert not await uow.canned.remove(OTHER_TENANT, None, "hello")
        await uow.commit()
    async with uow_factory() as uow:
        assert list(await uow.canned.list(TENANT)) == [response("hello", None)]


async def test_canned_writes_without_commit_are_rolled_back(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    async with uow_factory() as uow:
        await uow.canned.put(response("hello"))
        assert await uow.canned.get(TENANT, SUPPORT, "hello") == response("hello")
    async with uow_factory() as uow:
        assert await uow.canned.get(TENANT, SUPPORT, "hello") is None
