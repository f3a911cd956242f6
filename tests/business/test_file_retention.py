"""File retention and a tenant's file settings, on the fakes, SQLite and PostgreSQL: a
purge deletes the bytes and the records of the files older than their tenant's
retention and nothing else; a dry run deletes nothing; a purged file's link, still
correctly signed, says the file is gone; settings change a piece at a time and bad
values are refused naming the problem."""

from __future__ import annotations

import re

import pytest

from business import file_retention
from business.errors import FileGone, InvalidInput, NotFound
from business.file_config import KEEP_FOREVER, ConfigureFiles
from business.file_model import DEFAULT_ALLOWED_TYPES, DEFAULT_MAX_BYTES, FileId, FileLimits
from business.model import DEFAULT_TENANT, AgentId, TenantId
from business.ports import UnitOfWorkFactory
from tests.fakes import FakeClock
from tests.harness import World, make_world

OTHER = TenantId("other")
ALICE = AgentId("alice@agents.example")
BOB = AgentId("bob@agents.example")
DAY = 86_400
SIGNED = re.compile(r"/files/([0-9a-f]{32})/[^?]*\?exp=(\d+)&sig=([^&\s]+)")


@pytest.fixture
async def world(uow_factory: UnitOfWorkFactory) -> World:
    world = await make_world(uow=uow_factory, clock=FakeClock(), tenants={OTHER: "Other"})
    await world.agent(ALICE, name="Alice", max_chats=10)
    await world.agent(BOB, name="Bob", tenant_id=OTHER, max_chats=10)
    return world


async def _share(world: World, agent: AgentId, tenant: TenantId, data: bytes) -> str:
    """A file an agent shares in a new chat of ``tenant``: its ``file:<id>/<name>``."""
    conv = await world.start(await world.visitor(tenant), "Hello")
    posted = await world.agent_shares_file(agent, conv.id, data, name="f.pdf")
    (ref,) = posted.attachments
    return ref


def _id(ref: str) -> FileId:
    return FileId(ref.removeprefix("file:").partition("/")[0])


async def _open(world: World, ref: str) -> bytes:
    """The file behind a link signed now, as a message read now shows it."""
    found = SIGNED.search(world.services.files.links.lasting(ref))
    assert found is not None, ref
    return (await world.services.files.open(*found.groups())).data


async def test_a_purge_deletes_the_files_past_the_retention_and_nothing_else(
    world: World,
) -> None:
    old = await _share(world, ALICE, DEFAULT_TENANT, b"%PDF old")
    world.advance(20 * DAY)
    recent = await _share(world, ALICE, DEFAULT_TENANT, b"%PDF recent")
    others = await _share(world, BOB, OTHER, b"%PDF other tenant, kept for ever")
    world.advance(15 * DAY)  # old: 35 days, recent and others: 15 days
    await world.services.file_config.configure(
        ConfigureFiles(tenant_id=DEFAULT_TENANT, retention_days=30)
    )

    (dry,) = await world.services.file_retention.purge(dry_run=True)
    assert (dry.tenant_id, dry.files, dry.bytes, dry.retention_days) == (
        DEFAULT_TENANT,
        1,
        len(b"%PDF old"),
        30,
    )
    assert await _open(world, old) == b"%PDF old"

    (done,) = await world.services.file_retention.purge()
    assert (done.files, done.bytes) == (1, len(b"%PDF old"))
    assert _id(old) not in world.blobs.blobs
    with pytest.raises(FileGone, match="no longer available"):
        await _open(world, old)
    assert await _open(world, recent) == b"%PDF recent"
    assert await _open(world, others) == b"%PDF other tenant, kept for ever"

    # Nothing left to do: a second purge (another engine's, say) deletes nothing.
    (again,) = await world.services.file_retention.purge()
    assert again.files == 0


async def test_a_purge_goes_through_a_backlog_in_batches(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(file_retention, "PURGE_BATCH", 2)
    links = [await _share(world, ALICE, DEFAULT_TENANT, b"%PDF " + bytes([i])) for i in range(5)]
    world.advance(3 * DAY)
    await world.services.file_config.configure(
        ConfigureFiles(tenant_id=DEFAULT_TENANT, retention_days=2)
    )
    (done,) = await world.services.file_retention.purge(tenant_id=DEFAULT_TENANT)
    assert done.files == 5
    for link in links:
        with pytest.raises(FileGone):
            await _open(world, link)
    assert world.blobs.blobs == {}


async def test_only_the_tenant_asked_for_is_purged(world: World) -> None:
    mine = await _share(world, ALICE, DEFAULT_TENANT, b"%PDF mine")
    theirs = await _share(world, BOB, OTHER, b"%PDF theirs")
    world.advance(10 * DAY)
    for tenant in (DEFAULT_TENANT, OTHER):
        await world.services.file_config.configure(
            ConfigureFiles(tenant_id=tenant, retention_days=1)
        )
    (done,) = await world.services.file_retention.purge(tenant_id=OTHER)
    assert (done.tenant_id, done.files) == (OTHER, 1)
    assert await _open(world, mine) == b"%PDF mine"
    with pytest.raises(FileGone):
        await _open(world, theirs)
    with pytest.raises(NotFound, match="unknown tenant"):
        await world.services.file_retention.purge(tenant_id=TenantId("nobody"))


async def test_keep_for_ever_removes_the_retention(world: World) -> None:
    link = await _share(world, ALICE, DEFAULT_TENANT, b"%PDF keep")
    world.advance(400 * DAY)
    files = world.services.file_config
    await files.configure(ConfigureFiles(tenant_id=DEFAULT_TENANT, retention_days=30))
    stored = await files.configure(
        ConfigureFiles(tenant_id=DEFAULT_TENANT, retention_days=KEEP_FOREVER)
    )
    assert stored.retention_days is None
    assert await world.services.file_retention.purge() == ()
    assert await _open(world, link) == b"%PDF keep"


async def test_settings_change_a_piece_at_a_time(world: World) -> None:
    files = world.services.file_config
    assert await files.get(DEFAULT_TENANT) == FileLimits()
    assert (FileLimits().max_bytes, FileLimits().allowed_types) == (
        DEFAULT_MAX_BYTES,
        DEFAULT_ALLOWED_TYPES,
    )
    await files.configure(
        ConfigureFiles(tenant_id=DEFAULT_TENANT, allowed_types=[" Image/PNG", "application/pdf"])
    )
    await files.configure(ConfigureFiles(tenant_id=DEFAULT_TENANT, retention_days=90))
    stored = await files.configure(ConfigureFiles(tenant_id=DEFAULT_TENANT, max_bytes=2048))
    assert stored == FileLimits(
        max_bytes=2048, allowed_types=("application/pdf", "image/png"), retention_days=90
    )
    assert await files.get(DEFAULT_TENANT) == stored
    assert await world.services.files.limits(DEFAULT_TENANT) == stored
    assert await files.get(OTHER) == FileLimits()


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"max_bytes": 0}, "max_bytes must be positive"),
        ({"allowed_types": ["image/svg+xml"]}, "'image/svg+xml' is not an allowed media type"),
        ({"allowed_types": ["pdf"]}, "'pdf' is not an allowed media type"),
        ({"retention_days": 36_501}, "retention_days must be 1 to 36500"),
        ({"retention_days": -1}, "retention_days must be 1 to 36500"),
    ],
)
async def test_bad_settings_are_refused_and_nothing_changes(
    world: World, change: dict[str, object], words: str
) -> None:
    with pytest.raises(InvalidInput, match=re.escape(words)):
        await world.services.file_config.configure(
            ConfigureFiles(tenant_id=DEFAULT_TENANT, **change)  # type: ignore[arg-type]
        )
    assert await world.services.file_config.get(DEFAULT_TENANT) == FileLimits()


async def test_an_unknown_tenant_has_no_settings(world: World) -> None:
    with pytest.raises(NotFound, match="unknown tenant"):
        await world.services.file_config.get(TenantId("nobody"))
    with pytest.raises(NotFound, match="unknown tenant"):
        await world.services.file_config.configure(
            ConfigureFiles(tenant_id=TenantId("nobody"), retention_days=3)
        )
