"""A PostgreSQL restart as the unit of work sees it: every failure it causes is
``Unavailable`` (the visitor's ``unavailable``, REST's 503), never a bare driver error
that the edges would report as ``internal``; and the pool recovers by itself."""

from __future__ import annotations

import asyncio
import struct

import pytest
from sqlalchemy import text

from business.errors import Unavailable
from business.model import DEFAULT_TENANT
from data import Database
from tests.conftest import postgres_url

SSL_REQUEST = 80877103


@pytest.mark.postgres
async def test_a_connection_that_dies_under_a_statement_is_unavailable_then_replaced(
    postgres_database: Database,
) -> None:
    async with postgres_database.begin() as connection:
        schema = (await connection.execute(text("SHOW search_path"))).scalar_one()
    admin = Database.from_url(
        await postgres_url(), connect_args={"server_settings": {"search_path": schema}}
    )
    try:
        async with admin.begin() as locker:
            # The unit of work's statement waits on this lock, in flight, when its
            # backend is ended: what a restart does to every busy connection.
            await locker.execute(text("LOCK TABLE tenants IN ACCESS EXCLUSIVE MODE"))
            reading = asyncio.create_task(_read_tenant(postgres_database))
            async with admin.begin() as killer:
                for _ in range(200):
                    ended = await killer.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE wait_event_type = 'Lock' AND query LIKE '%tenants%'"
                        )
                    )
                    if ended.all():
                        break
                    await asyncio.sleep(0.02)
            with pytest.raises(Unavailable, match="database is unavailable"):
                await asyncio.wait_for(reading, 10)
    finally:
        await admin.dispose()
    # The pool threw the dead connection away: the next unit of work has a new one.
    assert await _read_tenant(postgres_database) is None


async def _read_tenant(database: Database) -> object:
    async with database.unit_of_work() as uow:
        return await uow.tenants.get(DEFAULT_TENANT)


async def _starting_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """What PostgreSQL answers while it replays its WAL after an immediate stop."""
    try:
        length, code = struct.unpack("!ii", await reader.readexactly(8))
        if code == SSL_REQUEST:
            writer.write(b"N")
            (length,) = struct.unpack("!i", await reader.readexactly(4))
            await reader.readexactly(length - 4)
        else:
            await reader.readexactly(length - 8)
        fields = b"".join(
            kind + value.encode() + b"\0"
            for kind, value in (
                (b"S", "FATAL"),
                (b"V", "FATAL"),
                (b"C", "57P03"),
                (b"M", "the database system is starting up"),
            )
        )
        body = fields + b"\0"
        writer.write(b"E" + struct.pack("!i", len(body) + 4) + body)
        await writer.drain()
    finally:
        writer.close()


async def test_a_server_still_starting_up_is_unavailable_not_internal() -> None:
    # A real server is in this state for a moment only (and not at all if its WAL is
    # short): this one stays in it, answering at the protocol level exactly as it does.
    server = await asyncio.start_server(_starting_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    database = Database.from_url(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/test")
    try:
        with pytest.raises(Unavailable) as raised:
            async with database.unit_of_work() as uow:
                await uow.tenants.get(DEFAULT_TENANT)
        assert "starting up" in str(raised.value.__cause__)
    finally:
        await database.dispose()
        server.close()
        await server.wait_closed()
