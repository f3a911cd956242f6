"""Retention settings and the audit log, on the fakes, SQLite and PostgreSQL: settings
change a piece at a time and bad values are refused naming the problem; the audit log
keeps entries newest first, by tenant and time, and never a secret-looking detail."""

from __future__ import annotations

from datetime import timedelta

import pytest

from business.errors import InvalidInput, NotFound
from business.governance_ports import RetentionSettings
from business.model import DEFAULT_TENANT, TenantId
from business.ports import UnitOfWorkFactory
from business.retention import KEEP_FOREVER, ConfigureRetention
from tests.fakes import FakeClock
from tests.harness import World, make_world

OTHER = TenantId("other")


@pytest.fixture
async def world(uow_factory: UnitOfWorkFactory) -> World:
    return await make_world(uow=uow_factory, clock=FakeClock(), tenants={OTHER: "Other"})


async def test_retention_settings_change_a_piece_at_a_time(world: World) -> None:
    settings = world.services.retention_settings
    assert await settings.get(DEFAULT_TENANT) == RetentionSettings()
    stored = await settings.configure(
        ConfigureRetention(tenant_id=DEFAULT_TENANT, conversations_days=30)
    )
    assert stored == RetentionSettings(conversations_days=30)
    stored = await settings.configure(ConfigureRetention(tenant_id=DEFAULT_TENANT, visitors_days=9))
    assert stored == RetentionSettings(conversations_days=30, visitors_days=9)
    stored = await settings.configure(
        ConfigureRetention(tenant_id=DEFAULT_TENANT, conversations_days=KEEP_FOREVER)
    )
    assert await settings.get(DEFAULT_TENANT) == RetentionSettings(visitors_days=9)
    assert await settings.get(OTHER) == RetentionSettings()
    for bad in (-1, 36_501):
        with pytest.raises(InvalidInput, match="conversations_days"):
            await settings.configure(
                ConfigureRetention(tenant_id=DEFAULT_TENANT, conversations_days=bad)
            )
    with pytest.raises(NotFound):
        await settings.configure(ConfigureRetention(tenant_id=TenantId("nobody"), visitors_days=1))
    # Tenants that keep everything have nothing to purge.
    await settings.configure(
        ConfigureRetention(tenant_id=DEFAULT_TENANT, visitors_days=KEEP_FOREVER)
    )
    assert await settings.get(DEFAULT_TENANT) == RetentionSettings()
    assert await world.services.retention.purge() == ()


async def test_the_audit_log_lists_newest_first_and_drops_secrets(world: World) -> None:
    audit = world.services.audit
    clock = world.clock
    assert isinstance(clock, FakeClock)
    first = await audit.record(
        actor="cli:ops", action="tenant.identity", tenant_id=DEFAULT_TENANT, detail={"mode": "x"}
    )
    clock.advance(300)
    await audit.record(
        actor="apikey:k1",
        action="patch_identity_settings",
        tenant_id=DEFAULT_TENANT,
        target="/api/v1/identity-settings",
        detail={"hs256_secret": "s3cret", "fields": ["keys"], "visitor_token": "t"},
    )
    await audit.record(actor="apikey:p", action="create_tenant", tenant_id=None)
    await audit.record(actor="apikey:o", action="patch_file_settings", tenant_id=OTHER)

    mine = await audit.list(tenant_id=DEFAULT_TENANT)
    assert [e.action for e in mine] == ["patch_identity_settings", "tenant.identity"]
    assert mine[0].detail == {"fields": ["keys"]}
    assert mine[0].target == "/api/v1/identity-settings"
    assert mine[1].at == first.at
    assert [e.action for e in await audit.list(tenant_id=None)] == [
        "patch_file_settings",
        "create_tenant",
        "patch_identity_settings",
        "tenant.identity",
    ]
    later = await audit.list(tenant_id=DEFAULT_TENANT, since=first.at + timedelta(minutes=1))
    assert [e.action for e in later] == ["patch_identity_settings"]
    assert len(await audit.list(tenant_id=None, limit=1)) == 1
