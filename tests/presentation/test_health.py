"""``/livez`` and ``/readyz`` on a real server: readiness follows a real PostgreSQL going
away and coming back, reports the XMPP link without failing on it, and fails at once
while draining; one round of checks answers a storm of probes."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from data import Database
from presentation import WebSettings, create_app
from presentation.app import DRAIN_KEY
from presentation.drain import Drain
from presentation.health import Readiness
from tests.conftest import fresh_database_url, postgres_url
from tests.harness import make_world

Check = Callable[[], Awaitable[bool]]
UNTIL = 10.0
"""Bound on waiting for ``/readyz`` to change (its answers are reused for 1 s)."""


async def _up() -> bool:
    return True


async def _down() -> bool:
    return False


@asynccontextmanager
async def serving(
    health: Mapping[str, Check], reported_only: Collection[str] = ()
) -> AsyncIterator[tuple[str, web.Application]]:
    """The app over in-memory services (the checks are what is under test here)."""
    world = await make_world()
    sock = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = create_app(
        services=world.services,
        settings=WebSettings(public_url=url),
        health=health,
        reported_only=reported_only,
    )
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
        yield url, app
    finally:
        await runner.cleanup()


async def get(url: str) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        body = await response.json()
        assert response.headers["Cache-Control"] == "no-store"
        return response.status, body


async def until_status(url: str, status: int) -> dict[str, object]:
    async with asyncio.timeout(UNTIL):
        while True:
            got, body = await get(url)
            if got == status:
                return body
            await asyncio.sleep(0.2)


async def test_readyz_names_each_check_and_the_xmpp_link_does_not_fail_it() -> None:
    async with serving({"database": _up, "xmpp": _down}, reported_only=("xmpp",)) as (url, _):
        status, body = await get(f"{url}/readyz")
        assert status == 200, body
        assert body == {
            "status": "ok",
            "draining": False,
            "checks": {"database": "ok", "xmpp": "fail"},
            "reported_only": ["xmpp"],
        }
        # /healthz is unchanged: every check counts, the link included.
        status, body = await get(f"{url}/healthz")
        assert status == 503
        assert body == {"status": "fail", "checks": {"database": "ok", "xmpp": "fail"}}


async def test_a_failing_database_check_fails_readiness_but_not_liveness() -> None:
    async with serving({"database": _down, "xmpp": _up}, reported_only=("xmpp",)) as (url, _):
        status, body = await get(f"{url}/readyz")
        assert status == 503
        assert body["checks"] == {"database": "fail", "xmpp": "ok"}
        assert await get(f"{url}/livez") == (200, {"status": "ok"})


async def test_draining_turns_readiness_503_at_once_and_liveness_stays_200() -> None:
    async with serving({"database": _up}) as (url, app):
        assert (await get(f"{url}/readyz"))[0] == 200  # and cached for a second
        app[DRAIN_KEY].begin()
        status, body = await get(f"{url}/readyz")
        assert status == 503
        assert body["draining"] is True
        assert body["checks"] == {"database": "ok"}
        assert await get(f"{url}/livez") == (200, {"status": "ok"})


async def test_one_round_of_checks_answers_a_storm_of_probes() -> None:
    calls = 0
    release = asyncio.Event()

    async def slow_database() -> bool:
        nonlocal calls
        calls += 1
        await release.wait()
        return True

    readiness = Readiness({"database": slow_database}, drain=Drain(), cache_seconds=60)
    probes = [asyncio.ensure_future(readiness.ready()) for _ in range(50)]
    await asyncio.sleep(0.05)
    release.set()
    results = await asyncio.gather(*probes)
    assert calls == 1
    assert all(ok for ok, _ in results)


def test_reported_only_must_name_a_check() -> None:
    with pytest.raises(ValueError, match="unknown checks: xmpp"):
        Readiness({"database": _up}, reported_only=("xmpp",), drain=Drain())


# -- a real PostgreSQL that stops answering ------------------------------------------


@asynccontextmanager
async def refusing_connections(url: str) -> AsyncIterator[None]:
    """The database of ``url`` refuses new connections and its open ones are cut, as
    when its server goes away; back to normal on exit."""
    name = make_url(url).database
    admin = create_async_engine(
        await postgres_url(), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            await connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            )
        try:
            yield
        finally:
            async with admin.connect() as connection:
                await connection.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    finally:
        await admin.dispose()


@pytest.mark.postgres
async def test_readyz_follows_a_real_database_going_away_and_back(tmp_path: Path) -> None:
    async with fresh_database_url("postgres", tmp_path) as database_url:
        database = Database.from_url(database_url)
        try:
            health = {"database": database.ping, "xmpp": _up}
            async with serving(health, reported_only=("xmpp",)) as (url, _):
                status, body = await get(f"{url}/readyz")
                assert status == 200, body
                async with refusing_connections(database_url):
                    body = await until_status(f"{url}/readyz", 503)
                    assert body["checks"] == {"database": "fail", "xmpp": "ok"}
                    assert body["draining"] is False
                    assert await get(f"{url}/livez") == (200, {"status": "ok"})
                body = await until_status(f"{url}/readyz", 200)
                assert body["checks"] == {"database": "ok", "xmpp": "ok"}
        finally:
            await database.dispose()


async def test_readyz_does_not_wait_for_the_sqlite_writer(tmp_path: Path) -> None:
    # A burst of writes queues for SQLite's one writer slot (1,500 new visitors at once
    # kept it busy for seconds here): the database answers all along, so readiness must
    # not fail, or the load balancer takes the only engine away from every visitor.
    database = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'engine.db'}")
    try:
        await database.migrate()
        readiness = Readiness({"database": database.ping}, drain=Drain(), timeout=0.5)
        async with asyncio.timeout(10), database.begin():  # the writer slot, held
            ok, body = await readiness.ready()
        assert ok, body
        assert body["checks"] == {"database": "ok"}
    finally:
        await database.dispose()
