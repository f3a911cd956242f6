"""The repository contract of what the REST API adds (API keys, tenant listing, taken
tenant and queue keys, removing agents), on the fakes, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta

import pytest

from business.errors import AlreadyExists
from business.model import (
    Agent,
    AgentId,
    ApiKey,
    ApiKeyId,
    ApiKeyScope,
    Queue,
    QueueName,
    Tenant,
    TenantId,
)
from business.ports import UnitOfWork, UnitOfWorkFactory

T0 = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
ACME = TenantId("acme")
SUPPORT = QueueName("support")


async def _seed(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.tenants.add(Tenant(id=ACME, name="Acme", created_at=T0))
        await uow.queues.add(Queue(tenant_id=ACME, name=SUPPORT, title="Support"))
        await uow.commit()


def _key(
    key_id: str, tenant: TenantId | None = ACME, scope: ApiKeyScope = ApiKeyScope.READ
) -> ApiKey:
    return ApiKey(id=ApiKeyId(key_id), tenant_id=tenant, scope=scope, name="n", created_at=T0)


async def test_api_keys_round_trip_revoke_once_and_touch(uow_factory: UnitOfWorkFactory) -> None:
    await _seed(uow_factory)
    async with uow_factory() as uow:
        await uow.api_keys.add(_key("b" * 16), "hash-b")
        await uow.api_keys.add(_key("a" * 16), "hash-a")
        await uow.api_keys.add(_key("c" * 16, None, ApiKeyScope.PLATFORM), "hash-c")
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.api_keys.get(ApiKeyId("a" * 16))
        assert stored is not None
        assert stored.key == _key("a" * 16)
        assert stored.secret_hash == "hash-a"
        assert await uow.api_keys.get(ApiKeyId("d" * 16)) is None
        assert [k.id for k in await uow.api_keys.list(ACME, after=None, limit=10)] == [
            "a" * 16,
            "b" * 16,
        ]
        assert [
            k.id for k in await uow.api_keys.list(None, after=ApiKeyId("a" * 16), limit=10)
        ] == [
            "b" * 16,
            "c" * 16,
        ]
        assert len(await uow.api_keys.list(None, after=None, limit=1)) == 1
        await uow.api_keys.revoke(ApiKeyId("a" * 16), T0 + timedelta(hours=1))
        await uow.api_keys.touch(ApiKeyId("b" * 16), T0 + timedelta(minutes=5))
        await uow.commit()
    async with uow_factory() as uow:
        await uow.api_keys.revoke(ApiKeyId("a" * 16), T0 + timedelta(hours=2))
        await uow.commit()
    async with uow_factory() as uow:
        revoked = await uow.api_keys.get(ApiKeyId("a" * 16))
        touched = await uow.api_keys.get(ApiKeyId("b" * 16))
    assert revoked is not None
    assert revoked.key.revoked_at == T0 + timedelta(hours=1)  # the first revocation stays
    assert touched is not None
    assert touched.key.last_used_at == T0 + timedelta(minutes=5)
    assert touched.key.revoked_at is None


async def test_a_taken_tenant_or_queue_is_already_exists(uow_factory: UnitOfWorkFactory) -> None:
    await _seed(uow_factory)
    async with uow_factory() as uow:
        with pytest.raises(AlreadyExists):
            await _add_and_commit(
                uow, uow.tenants.add(Tenant(id=ACME, name="Again", created_at=T0))
            )
    async with uow_factory() as uow:
        with pytest.raises(AlreadyExists):
            await _add_and_commit(
                uow, uow.queues.add(Queue(tenant_id=ACME, name=SUPPORT, title="X"))
            )
    async with uow_factory() as uow:
        tenant = await uow.tenants.get(ACME)
        queue = await uow.queues.get(ACME, SUPPORT)
    assert tenant is not None
    assert tenant.name == "Acme"
    assert queue is not None
    assert queue.title == "Support"


async def _add_and_commit(uow: UnitOfWork, adding: Awaitable[None]) -> None:
    """The write and the commit: a taken key is refused at the one or the other."""
    await adding
    await uow.commit()


async def test_tenants_are_listed_by_id(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        for tenant_id in ("c", "a", "b"):
            await uow.tenants.add(Tenant(id=TenantId(tenant_id), name=tenant_id, created_at=T0))
        await uow.commit()
    async with uow_factory() as uow:
        assert [t.id for t in await uow.tenants.list(after=None, limit=2)] == ["a", "b"]
        assert [t.id for t in await uow.tenants.list(after=TenantId("a"), limit=5)] == ["b", "c"]


async def test_a_removed_agent_is_gone_by_id_address_and_queue(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await _seed(uow_factory)
    alice = Agent(
        id=AgentId("a-alice"),
        tenant_id=ACME,
        address="alice@example.com",
        name="Alice",
        max_chats=2,
        queues=(SUPPORT,),
    )
    async with uow_factory() as uow:
        await uow.agents.add(alice)
        await uow.commit()
    async with uow_factory() as uow:
        # Read once so that any cache holds the agent.
        assert await uow.agents.get_by_address("alice@example.com") == alice
    async with uow_factory() as uow:
        await uow.agents.remove(alice.id)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.agents.get(alice.id) is None
        assert await uow.agents.get_by_address("alice@example.com") is None
        assert await uow.agents.list_for_queue(ACME, SUPPORT) == []
        with pytest.raises(KeyError):
            await uow.agents.remove(alice.id)
