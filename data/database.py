"""The database: engine, migrations, health check, and the factory of units of work."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import URL, Connection, event, make_url, text
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    create_async_engine,
)

from data.cache import Caches
from data.cache_bus import CacheListener
from data.pg_lane import FastLane
from data.settings import DatabaseSettings
from data.sqlite_writer import READ_ONLY, SqliteWriter, sqlite_on_begin, sqlite_on_connect
from data.uow import SqlUnitOfWork, WriterGate

logger = logging.getLogger(__name__)

PING_TIMEOUT = 5.0

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


class Database:
    """One SQL database behind the business ports.

    ``unit_of_work`` is a ``business.ports.UnitOfWorkFactory``. The instance owns the
    engine (its connection pool), the caches of hot reads and, on SQLite, the writer
    gate that lets one unit of work at a time in (see ``data.uow``). Create it inside
    the event loop that will use it, and ``dispose`` it when done.

    Supported: ``sqlite+aiosqlite:///path`` (the parent directory is created) and
    ``postgresql+asyncpg://user:password@host/db``; ``sqlite://`` and ``postgresql://``
    are taken to mean those drivers. A new SQLite file and a new directory for it are
    made readable by the owner only: they hold visitors' conversations.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        cache_ttl: float = 30.0,
        cache_size: int = 10_000,
        writer: SqliteWriter | None = None,
        lane: FastLane | None = None,
    ) -> None:
        self._engine = engine
        self._lane = lane
        self._gate = WriterGate() if self.dialect == "sqlite" else None
        self._writer = writer
        self.caches = Caches(ttl=cache_ttl, maxsize=cache_size)
        self._listener: CacheListener | None = None

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        connect_args: Mapping[str, Any] | None = None,
        cache_ttl: float = 30.0,
        cache_size: int = 10_000,
        connect_timeout: float = 10.0,
    ) -> Database:
        """``from_settings`` for tools and tests that have only a URL."""
        return cls.from_settings(
            DatabaseSettings(
                url=url,
                cache_ttl=cache_ttl,
                cache_size=cache_size,
                connect_timeout=connect_timeout,
            ),
            connect_args=connect_args,
        )

    @classmethod
    def from_settings(
        cls, settings: DatabaseSettings, *, connect_args: Mapping[str, Any] | None = None
    ) -> Database:
        """Create the engine (connections are opened on first use); ``settings`` says what
        each knob means. ``connect_args`` go to the driver (for asyncpg, e.g.
        ``server_settings``)."""
        parsed = make_url(settings.url)
        driver = _ASYNC_DRIVERS.get(parsed.drivername)
        if driver is None:
            raise ValueError(
                f"unsupported database URL scheme {parsed.drivername!r}: "
                "use sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db"
            )
        parsed = parsed.set(drivername=driver)
        kwargs: dict[str, Any] = {"connect_args": dict(connect_args or {})}
        if driver == "sqlite+aiosqlite":
            path = parsed.database
            if path and path != ":memory:" and not path.startswith("file:"):
                _create_private(Path(path).expanduser())
        else:
            kwargs["connect_args"].setdefault("timeout", settings.connect_timeout)
        engine = create_async_engine(parsed, **kwargs)
        if driver == "postgresql+asyncpg":
            # The engine lives for days: survive a PostgreSQL restart or an idle
            # connection dropped by a firewall instead of failing the next request.
            # Only connections that sat idle are pinged (``pool_pre_ping`` would cost a
            # round trip on every unit of work).
            _ping_when_idle(engine, settings.ping_after_idle)
            # A lone message's one statement straight on asyncpg (``data.pg_lane``).
            lane = FastLane(engine, idle=settings.ping_after_idle, ping_timeout=PING_TIMEOUT)
        else:
            lane = None
        writer = None
        if driver == "sqlite+aiosqlite":
            event.listen(engine.sync_engine, "connect", sqlite_on_connect)
            event.listen(engine.sync_engine, "begin", sqlite_on_begin)
            path = parsed.database
            if path and path != ":memory:" and not path.startswith("file:"):
                # A second connection to the same file (an in-memory database would
                # be a different one): see data.sqlite_writer.
                writer = SqliteWriter(parsed)
        return cls(
            engine,
            cache_ttl=settings.cache_ttl,
            cache_size=settings.cache_size,
            writer=writer,
            lane=lane,
        )

    @property
    def url(self) -> URL:
        """The URL; printing it masks the password."""
        return self._engine.url

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    @property
    def engine(self) -> AsyncEngine:
        """For tools and tests; application code goes through ``unit_of_work``."""
        return self._engine

    @property
    def lane(self) -> FastLane | None:
        """PostgreSQL's fast lane for lone messages (``data.pg_lane``), for tests and tools."""
        return self._lane

    def __repr__(self) -> str:
        return f"Database({self.url!r})"

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(
            engine=self._engine,
            caches=self.caches,
            gate=self._gate,
            writer=self._writer,
            lane=self._lane,
        )

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction that commits on success, admitted like a unit
        of work (on SQLite it waits its turn). For migrations, health checks and tests."""
        if self._gate is not None:
            await self._gate.acquire()
        try:
            async with self._engine.begin() as connection:
                yield connection
        finally:
            if self._gate is not None:
                self._gate.release()

    async def migrate(self) -> None:
        """Upgrade the schema to the newest Alembic revision (no alembic.ini needed)."""
        async with self.begin() as connection:
            await connection.run_sync(_upgrade_to_head)

    async def ping(self) -> bool:
        """Whether a trivial query succeeds within ``PING_TIMEOUT`` seconds. A snapshot
        read: on an SQLite file it does not queue for the writer slot, which a burst of
        writes can keep busy for seconds while the database answers all along."""
        try:
            # Bounded: asyncpg would wait 60 s for an unreachable host by default.
            async with asyncio.timeout(PING_TIMEOUT):
                if self._gate is not None and self._writer is None:
                    # In-memory SQLite: one shared connection, so take turns (data.uow).
                    async with self.begin() as connection:
                        await connection.execute(text("SELECT 1"))
                else:
                    async with self._engine.connect() as connection:
                        await connection.execution_options(**{READ_ONLY: True})
                        await connection.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError, TimeoutError) as error:
            logger.warning("database %s is unreachable: %s", self.url, error)
            return False
        return True

    async def listen(self) -> None:
        """PostgreSQL: from now on, drop from the caches what other engine processes
        write (``data.cache_bus``); on SQLite nothing (one process per file). Call it
        once the schema is migrated; ``dispose`` stops it."""
        if self.dialect != "postgresql" or self._listener is not None:
            return
        self._listener = CacheListener(self._engine, self.caches)
        await self._listener.start()

    @property
    def listener(self) -> CacheListener | None:
        """The cache invalidation listener, once ``listen`` started it."""
        return self._listener

    async def dispose(self) -> None:
        """Close every pooled connection; the caches are emptied too."""
        listener, self._listener = self._listener, None
        if listener is not None:
            await listener.stop()
        self.caches.clear()
        if self._writer is not None:
            await self._writer.close()
        if self._lane is not None:
            await self._lane.close()
        await self._engine.dispose()


def _ping_when_idle(engine: AsyncEngine, idle: float) -> None:
    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_CHECKED_IN)
        if since is not None and time.monotonic() - since < idle:
            return
        try:
            dbapi_connection.ping()
        except Exception as error:
            # The pool drops this connection and checks out another (a new one).
            raise DisconnectionError("a pooled connection did not answer a ping") from error

    event.listen(engine.sync_engine, "connect", checked_in)  # new: nothing to ping
    event.listen(engine.sync_engine, "checkin", checked_in)
    event.listen(engine.sync_engine, "checkout", checkout)


_CHECKED_IN = "chat_engine_checked_in"


def _create_private(path: Path) -> None:
    """Create the SQLite file empty (SQLite takes that for a new database) and private,
    before SQLite creates it with mode 0644; its -wal and -shm files copy the mode.

    An existing database keeps the owner and group permissions its owner gave it, but
    never stays readable by everybody (older versions made it 0644)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for name in (path.name, f"{path.name}-wal", f"{path.name}-shm"):
            _not_for_everybody(path.with_name(name))
        return
    os.close(fd)


def _not_for_everybody(path: Path) -> None:
    try:
        status = path.stat()
        mode = stat.S_IMODE(status.st_mode)
        if stat.S_ISREG(status.st_mode) and mode & 0o007:
            path.chmod(mode & ~0o007)
            logger.info("%s was readable by everybody; it is not any more", path)
    except FileNotFoundError:
        pass


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for ``data/migrations``, bound to ``connection`` if given."""
    config = Config()
    # Config values go through configparser interpolation: escape '%' in the path.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade_to_head(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")
