"""API keys (``ApiKeyService``), on the fakes, SQLite and PostgreSQL: made with a secret
shown once, authenticated against its hash, remembered for a while, revoked for good."""

from __future__ import annotations

import asyncio

import pytest

from business import commands as c
from business.api_key_ports import StoredApiKey
from business.api_keys import ApiKeyService, hash_secret
from business.errors import InvalidInput, NotFound, Unauthenticated
from business.model import DEFAULT_TENANT, ApiKeyId, ApiKeyScope, TenantId
from business.ports import UnitOfWorkFactory
from business.transactions import Transactions
from tests.fakes import FakeClock, FakeStore, FakeUnitOfWork
from tests.fakes_access import FakeApiKeys, StoredKeys
from tests.harness import World, make_world

ACME = TenantId("acme")


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def world(uow_factory: UnitOfWorkFactory) -> World:
    return await make_world(uow=uow_factory, tenants={ACME: "Acme"})


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def keys(world: World, ticks: Ticks) -> ApiKeyService:
    """The service with a monotonic clock of the test's."""
    assert isinstance(world.clock, FakeClock)
    return ApiKeyService(
        transactions=Transactions(world.uow, world.publisher),
        clock=world.clock,
        cache_seconds=30,
        touch_seconds=60,
        monotonic=ticks,
    )


def make(
    scope: ApiKeyScope, tenant: TenantId | None = DEFAULT_TENANT, name: str = ""
) -> c.CreateApiKey:
    return c.CreateApiKey(scope=scope, tenant_id=tenant, name=name)


async def test_a_new_key_authenticates_as_itself(keys: ApiKeyService) -> None:
    created = await keys.create(make(ApiKeyScope.ADMIN, name=" crm "))
    prefix, key_id, secret = created.secret.split("_", 2)
    assert prefix == "ce"
    assert key_id == created.key.id
    assert len(key_id) == 16
    assert len(secret) == 43  # 32 random bytes
    assert created.key.name == "crm"
    assert created.key.tenant_id == DEFAULT_TENANT
    authenticated = await keys.authenticate(created.secret)
    assert authenticated.id == created.key.id
    assert authenticated.scope is ApiKeyScope.ADMIN


async def test_two_keys_never_share_a_secret(keys: ApiKeyService) -> None:
    made = [await keys.create(make(ApiKeyScope.READ)) for _ in range(20)]
    assert len({m.secret for m in made}) == 20
    assert len({m.key.id for m in made}) == 20


async def test_only_the_hash_of_the_secret_is_kept(keys: ApiKeyService, world: World) -> None:
    created = await keys.create(make(ApiKeyScope.READ))
    async with world.uow() as uow:
        stored = await uow.api_keys.get(created.key.id)
    assert stored is not None
    assert stored.secret_hash == hash_secret(created.secret.split("_", 2)[2])
    assert created.secret not in repr(stored)


@pytest.mark.parametrize(
    "presented",
    [None, "", "ce_", "ce_0123456789abcdef_short", "Bearer x", "ce_0123456789abcdef_" + "A" * 43],
)
async def test_no_key_a_malformed_or_unknown_one_is_unauthenticated(
    keys: ApiKeyService, presented: str | None
) -> None:
    await keys.create(make(ApiKeyScope.READ))
    with pytest.raises(Unauthenticated):
        await keys.authenticate(presented)


async def test_a_wrong_secret_is_refused_also_while_the_key_is_remembered(
    keys: ApiKeyService,
) -> None:
    created = await keys.create(make(ApiKeyScope.READ))
    wrong = created.secret[:-1] + ("A" if created.secret[-1] != "A" else "B")
    with pytest.raises(Unauthenticated):
        await keys.authenticate(wrong)
    await keys.authenticate(created.secret)
    with pytest.raises(Unauthenticated):
        await keys.authenticate(wrong)


async def test_scope_and_tenant_go_together(keys: ApiKeyService) -> None:
    with pytest.raises(InvalidInput, match="no tenant"):
        await keys.create(make(ApiKeyScope.PLATFORM))
    with pytest.raises(InvalidInput, match="needs a tenant"):
        await keys.create(make(ApiKeyScope.BOT, tenant=None))
    with pytest.raises(NotFound):
        await keys.create(make(ApiKeyScope.ADMIN, tenant=TenantId("nobody")))
    with pytest.raises(InvalidInput):
        await keys.create(make(ApiKeyScope.ADMIN, name="x" * 101))
    with pytest.raises(InvalidInput):
        await keys.create(make(ApiKeyScope.ADMIN, name="nul\x00"))
    platform = await keys.create(make(ApiKeyScope.PLATFORM, tenant=None))
    assert platform.key.tenant_id is None
    assert await keys.list() == [platform.key]


async def test_revoking_refuses_the_key_at_once_and_for_good(
    keys: ApiKeyService, ticks: Ticks
) -> None:
    created = await keys.create(make(ApiKeyScope.READ))
    await keys.authenticate(created.secret)  # remembered now
    revoked = await keys.revoke(c.RevokeApiKey(key_id=created.key.id))
    assert revoked.revoked_at is not None
    with pytest.raises(Unauthenticated, match="revoked"):
        await keys.authenticate(created.secret)
    again = await keys.revoke(c.RevokeApiKey(key_id=created.key.id))
    assert again.revoked_at == revoked.revoked_at
    ticks.now += 3600
    with pytest.raises(Unauthenticated, match="revoked"):
        await keys.authenticate(created.secret)


async def test_a_revocation_by_another_process_counts_once_the_memory_expires(
    keys: ApiKeyService, world: World, ticks: Ticks
) -> None:
    created = await keys.create(make(ApiKeyScope.READ))
    await keys.authenticate(created.secret)
    elsewhere = world.another_process().services.api_keys
    await elsewhere.revoke(c.RevokeApiKey(key_id=created.key.id))
    ticks.now += 29
    await keys.authenticate(created.secret)  # still remembered: at most cache_seconds
    ticks.now += 2
    with pytest.raises(Unauthenticated):
        await keys.authenticate(created.secret)


async def test_a_tenant_sees_and_revokes_only_its_own_keys(keys: ApiKeyService) -> None:
    mine = await keys.create(make(ApiKeyScope.READ))
    theirs = await keys.create(make(ApiKeyScope.READ, tenant=ACME))
    assert [k.id for k in await keys.list(DEFAULT_TENANT)] == [mine.key.id]
    assert {k.id for k in await keys.list()} == {mine.key.id, theirs.key.id}
    with pytest.raises(NotFound):
        await keys.get(theirs.key.id, tenant_id=DEFAULT_TENANT)
    with pytest.raises(NotFound):
        await keys.revoke(c.RevokeApiKey(key_id=theirs.key.id, tenant_id=DEFAULT_TENANT))
    assert (await keys.get(theirs.key.id)).revoked_at is None
    await keys.authenticate(theirs.secret)
    with pytest.raises(NotFound):
        await keys.revoke(c.RevokeApiKey(key_id=ApiKeyId("0" * 16)))


async def test_keys_are_listed_by_id_in_pages(keys: ApiKeyService) -> None:
    made = sorted([(await keys.create(make(ApiKeyScope.READ))).key.id for _ in range(5)])
    first = await keys.list(DEFAULT_TENANT, limit=2)
    rest = await keys.list(DEFAULT_TENANT, after=first[-1].id, limit=10)
    assert [k.id for k in first] + [k.id for k in rest] == made


async def test_last_use_is_written_at_most_once_a_minute(
    keys: ApiKeyService, world: World, ticks: Ticks
) -> None:
    created = await keys.create(make(ApiKeyScope.READ))
    assert isinstance(world.clock, FakeClock)
    await keys.authenticate(created.secret)
    first = (await keys.get(created.key.id)).last_used_at
    assert first == world.clock.now()
    world.advance(10)
    ticks.now += 10
    await keys.authenticate(created.secret)
    assert (await keys.get(created.key.id)).last_used_at == first
    world.advance(60)
    ticks.now += 60
    await keys.authenticate(created.secret)
    assert (await keys.get(created.key.id)).last_used_at == world.clock.now()


class _HeldKeys(FakeApiKeys):
    """A ``get`` while ``hold`` has a (read, release) pair sets ``read`` and returns what
    it read only once ``release`` is set."""

    def __init__(self, keys: StoredKeys, hold: list[tuple[asyncio.Event, asyncio.Event]]) -> None:
        super().__init__(keys)
        self._hold = hold

    async def get(self, key_id: ApiKeyId) -> StoredApiKey | None:
        found = await super().get(key_id)
        if self._hold:
            read, release = self._hold.pop()
            read.set()
            await release.wait()
        return found


async def test_a_check_that_raced_a_revocation_is_not_remembered(ticks: Ticks) -> None:
    store = FakeStore()
    hold: list[tuple[asyncio.Event, asyncio.Event]] = []

    class HeldUnitOfWork(FakeUnitOfWork):
        def _begin(self) -> None:
            super()._begin()
            self.api_keys = _HeldKeys(self._work.api_keys, hold)

    world = await make_world(store=store, uow=lambda: HeldUnitOfWork(store))
    assert isinstance(world.clock, FakeClock)
    keys = ApiKeyService(
        transactions=Transactions(world.uow, world.publisher),
        clock=world.clock,
        monotonic=ticks,
    )
    created = await keys.create(make(ApiKeyScope.READ))
    read, release = asyncio.Event(), asyncio.Event()
    hold.append((read, release))
    checking = asyncio.create_task(keys.authenticate(created.secret))
    await read.wait()  # the check has read the key, not yet revoked, and waits
    await keys.revoke(c.RevokeApiKey(key_id=created.key.id))
    release.set()
    assert (await checking).id == created.key.id  # it began before the revocation
    with pytest.raises(Unauthenticated, match="revoked"):
        await keys.authenticate(created.secret)
