"""The redaction settings repository's contract (``business.redaction_ports``), on the
fakes, SQLite and PostgreSQL alike: one row per tenant, replaced whole, and (on the
databases) a cached read that never outlives a committed change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from business.redaction import CustomPattern, RedactionSettings
from tests.conftest import BACKENDS
from tests.data.contract_support import OTHER_TENANT, TENANT, at
from tests.data.members_support import Store, open_store

CUSTOM = RedactionSettings(
    cards=False,
    ibans=True,
    emails=True,
    phones=True,
    phone_region="DE",
    patterns=(CustomPattern("order", r"ORD-[0-9]{6}"), CustomPattern("ticket", r"T#\d+")),
)


@pytest.fixture(params=[pytest.param("fake", id="fake"), *BACKENDS])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async with open_store(request.param, tmp_path) as opened:
        yield opened


async def test_settings_are_stored_per_tenant_and_replaced_whole(store: Store) -> None:
    async with store.uow() as uow:
        assert await uow.redaction_settings.get(TENANT) is None
        await uow.redaction_settings.put(TENANT, CUSTOM, at(1))
        assert await uow.redaction_settings.get(TENANT) == CUSTOM  # its own write
        await uow.commit()
    store.forget_cache()
    async with store.uow() as uow:
        assert await uow.redaction_settings.get(TENANT) == CUSTOM
        assert await uow.redaction_settings.get(OTHER_TENANT) is None
        await uow.redaction_settings.put(TENANT, RedactionSettings(), at(2))
        await uow.commit()
    store.forget_cache()
    async with store.uow() as uow:
        assert await uow.redaction_settings.get(TENANT) == RedactionSettings()


async def test_a_cached_read_gives_way_to_a_committed_change(store: Store) -> None:
    async with store.uow() as uow:
        assert await uow.redaction_settings.get(TENANT) is None  # (now cached: no row)
    async with store.uow() as uow:
        await uow.redaction_settings.put(TENANT, CUSTOM, at(1))
        await uow.commit()
    async with store.uow() as uow:
        assert await uow.redaction_settings.get(TENANT) == CUSTOM  # (cached again)
    async with store.uow() as uow:
        await uow.redaction_settings.put(TENANT, RedactionSettings(emails=True), at(2))
        # Not committed: rolled back, and the cache still holds what is stored.
    async with store.uow() as uow:
        assert await uow.redaction_settings.get(TENANT) == CUSTOM
        await uow.redaction_settings.put(TENANT, RedactionSettings(emails=True), at(3))
        await uow.commit()
    async with store.uow() as uow:
        assert await uow.redaction_settings.get(TENANT) == RedactionSettings(emails=True)
