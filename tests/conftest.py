"""Shared fixtures: migrated databases on SQLite and PostgreSQL, and unit-of-work
factories over the in-memory fakes and both databases for contract tests.

PostgreSQL is expected at ``postgresql+asyncpg://postgres@127.0.0.1:5432/test`` (trust
auth; user ``postgres`` or else ``root``; ``TEST_POSTGRES_URL`` overrides). Each test
gets an empty migrated schema of its own, selected through ``search_path``: a copy of one
migrated per test process (``_Templates``), emptied after the test for a later one of the
same process when the test left its structure alone (``tests.pg_schemas``), else dropped.
Without a server, PostgreSQL tests are skipped, except with ``CI=true``, where they fail:
CI must not pass by testing only half of the storage.
"""

from __future__ import annotations

import asyncio
import atexit
import fcntl
import gc
import logging
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright, expect
from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from business.ports import UnitOfWorkFactory
from data import Database
from tests.fakes import FakeStore, FakeUnitOfWork
from tests.pg_schemas import SchemaPool
from tests.shared_browser import SharedChromium

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]
"""Parameters for a test or fixture that runs on both databases."""


@dataclass
class _Probe:
    url: str | None = None
    error: str | None = None
    done: bool = False


_probe = _Probe()


def _admin_engine(url: str) -> AsyncEngine:
    # AUTOCOMMIT: CREATE/DROP SCHEMA need no transaction; NullPool: nothing left open.
    return create_async_engine(
        url, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"timeout": 5}
    )


async def postgres_url() -> str:
    """The URL of a reachable PostgreSQL test server; otherwise skips (fails under CI).

    Probed once per session, with the configured user and then with ``root``.
    """
    configured = make_url(os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    if not _probe.done:
        _probe.done = True
        for user in dict.fromkeys([configured.username or "postgres", "root"]):
            candidate = configured.set(username=user).render_as_string(hide_password=False)
            engine = _admin_engine(candidate)
            try:
                async with engine.connect() as connection:
                    await connection.exec_driver_sql("SELECT 1")
            except (SQLAlchemyError, OSError, TimeoutError) as error:
                _probe.error = f"{type(error).__name__}: {error}"
                continue
            finally:
                await engine.dispose()
            _probe.url = candidate
            break
    if _probe.url is not None:
        return _probe.url
    message = f"PostgreSQL is not reachable at {configured} ({_probe.error})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; CI=true requires PostgreSQL", pytrace=False)
    pytest.skip(message)


@dataclass
class _Templates:
    """A migrated database per backend, made once per test process and copied for
    each test: migrating takes 0.1 s on SQLite and 0.3 s on PostgreSQL, a copy a
    fraction of that, and some 1,600 tests open one."""

    sqlite: Path | None = None
    postgres: str | None = None
    """pg_dump's script of a migrated schema named ``_PG_TEMPLATE``; "" when pg_dump
    cannot make one (then each test migrates its own schema)."""


_templates = _Templates()
_PG_TEMPLATE = f"tmpl_{uuid.uuid4().hex[:16]}"
_schemas = SchemaPool(_PG_TEMPLATE)


async def _sqlite_template() -> Path:
    if _templates.sqlite is None:
        path = Path(tempfile.mkdtemp(prefix="chat-engine-template-")) / "chat.db"
        atexit.register(shutil.rmtree, path.parent, True)
        database = Database.from_url(f"sqlite+aiosqlite:///{path}")
        try:
            await database.migrate()
        finally:
            await database.dispose()
        _templates.sqlite = path
    return _templates.sqlite


async def _postgres_template(url: str, admin: AsyncEngine) -> str:
    """The schema-and-seed script of a freshly migrated schema (pg_dump, plain SQL with
    INSERTs), or "" without a usable pg_dump."""
    if _templates.postgres is not None:
        return _templates.postgres
    _templates.postgres = ""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        return ""
    async with admin.connect() as connection:
        await connection.exec_driver_sql(f'CREATE SCHEMA "{_PG_TEMPLATE}"')
    try:
        database = Database.from_url(
            url, connect_args={"server_settings": {"search_path": _PG_TEMPLATE}}
        )
        try:
            await database.migrate()
        finally:
            await database.dispose()
        server = make_url(url)
        dump = await asyncio.to_thread(
            subprocess.run,
            [
                pg_dump,
                "--schema",
                _PG_TEMPLATE,
                "--inserts",
                "--no-owner",
                "--no-privileges",
                "--host",
                server.host or "127.0.0.1",
                "--port",
                str(server.port or 5432),
                "--username",
                server.username or "postgres",
                server.database or "test",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "PGPASSWORD": server.password or ""},
        )
    finally:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'DROP SCHEMA "{_PG_TEMPLATE}" CASCADE')
    if dump.returncode == 0 and f"CREATE SCHEMA {_PG_TEMPLATE};" in dump.stdout:
        # Without psql's meta-commands (pg_dump 15.14+ writes \restrict lines).
        lines = dump.stdout.splitlines()
        _templates.postgres = "\n".join(x for x in lines if not x.startswith("\\"))
    return _templates.postgres


@asynccontextmanager
async def open_database(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty ``Database`` of ``backend`` ("sqlite" or "postgres"), disposed
    (and on PostgreSQL its schema emptied for reuse or dropped) on exit: a copy of the
    process's template (see ``_Templates``), the same as migrating, which ``tests/data``
    tests itself."""
    if backend == "sqlite":
        path = tmp_path / "chat.db"
        shutil.copyfile(await _sqlite_template(), path)
        database = Database.from_url(f"sqlite+aiosqlite:///{path}")
        try:
            yield database
        finally:
            await database.dispose()
        return
    if backend != "postgres":
        raise ValueError(f"unknown backend {backend!r}")
    url = await postgres_url()
    admin = _admin_engine(url)
    try:
        script = await _postgres_template(url, admin)
        schema = _schemas.take()
        if schema is None:
            schema = f"test_{uuid.uuid4().hex[:16]}"
            async with admin.connect() as connection:
                if script:
                    raw = (await connection.get_raw_connection()).driver_connection
                    assert raw is not None
                    # Several statements in one simple query: asyncpg without arguments.
                    await raw.execute(script.replace(_PG_TEMPLATE, schema))
                    await _schemas.learn(raw, schema, script)
                else:
                    await connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        database = Database.from_url(url, connect_args={"server_settings": {"search_path": schema}})
        try:
            if not script:
                await database.migrate()
            yield database
        finally:
            await database.dispose()
            async with admin.connect() as connection:
                if not await _schemas.give_back(connection, schema):
                    await connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await admin.dispose()


async def _drop_free_schemas() -> None:
    if not _schemas.free:
        return
    admin = _admin_engine(await postgres_url())
    try:
        async with admin.connect() as connection:
            while _schemas.free:
                await connection.exec_driver_sql(f'DROP SCHEMA "{_schemas.free.pop()}" CASCADE')
    finally:
        await admin.dispose()


@pytest.fixture(scope="session", autouse=True)
def _free_schemas_dropped() -> Iterator[None]:
    """Drops the schemas kept for reuse (``tests.pg_schemas``) when the session ends."""
    yield
    asyncio.run(_drop_free_schemas())


@asynccontextmanager
async def fresh_database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a new, empty database for code that only takes a URL (the wired
    engine): an SQLite file, or a PostgreSQL database created for it and dropped after."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'engine.db'}"
        return
    url = await postgres_url()
    name = f"test_{uuid.uuid4().hex[:16]}"
    admin = _admin_engine(url)
    try:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(url).set(database=name).render_as_string(hide_password=False)
        finally:
            async with admin.connect() as connection:
                await connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.dispose()


@pytest.fixture(params=BACKENDS)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database: once on SQLite, once on PostgreSQL."""
    async with open_database(request.param, tmp_path) as db:
        yield db


@pytest.fixture
async def sqlite_database(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty SQLite database in ``tmp_path``."""
    async with open_database("sqlite", tmp_path) as db:
        yield db


@pytest.fixture
async def postgres_database(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty PostgreSQL database; mark the test ``postgres``."""
    async with open_database("postgres", tmp_path) as db:
        yield db


@pytest.fixture(params=[pytest.param("fake", id="fake"), *BACKENDS])
async def uow_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[UnitOfWorkFactory]:
    """A unit-of-work factory over an empty store: the fakes, SQLite, PostgreSQL."""
    if request.param == "fake":
        store = FakeStore()
        yield lambda: FakeUnitOfWork(store)
        return
    async with open_database(request.param, tmp_path) as db:
        yield db.unit_of_work


# -- the widget build -----------------------------------------------------------------


@pytest.fixture(scope="session")
def widget_dist() -> Path:
    """Builds presentation/widget once per run (installing its npm packages if needed)."""
    npm = shutil.which("npm")
    if npm is None:
        if os.environ.get("CI") == "true":
            pytest.fail("npm is required to build the widget")
        pytest.skip("npm is not installed, so the widget cannot be built")
    # npm records what it installed in node_modules/.package-lock.json: a lock file
    # newer than that (a package added, such as axe-core for the accessibility test)
    # installs again.
    installed = _WIDGET_SRC / "node_modules" / ".package-lock.json"
    lock = _WIDGET_SRC / "package-lock.json"
    dist = _WIDGET_SRC / "dist"
    # One build for all pytest-xdist workers, and none while dist is newer than every
    # source: the build empties dist first, so a worker building while another's
    # browser test loads loader.js made that page come up without the widget (seen in
    # CI as a launcher or an invitation that never appeared).
    with open(_WIDGET_SRC / ".build.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=_WIDGET_SRC, check=True)
        if not _widget_built(dist):
            subprocess.run([npm, "run", "build"], cwd=_WIDGET_SRC, check=True)
    assert (dist / "loader.js").is_file()
    assert (dist / "widget.js").is_file()
    return dist


def _widget_built(dist: Path) -> bool:
    """Every bundle is there and newer than every source of the widget."""
    bundles = [dist / name for name in ("loader.js", "manager.js", "widget.js", "chat-core.mjs")]
    if not all(bundle.is_file() for bundle in bundles):
        return False
    sources = [
        _WIDGET_SRC / "build.mjs",
        _WIDGET_SRC / "package-lock.json",
        _WIDGET_SRC / "package.json",
        *(p for p in (_WIDGET_SRC / "src").rglob("*") if p.is_file()),
    ]
    newest = max(p.stat().st_mtime for p in sources)
    return min(bundle.stat().st_mtime for bundle in bundles) > newest


_WIDGET_SRC = Path(__file__).resolve().parents[1] / "presentation" / "widget"


# -- the browser ----------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying to reach Google's hosts,
# which this machine's closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _chromium_or_skip() -> Path:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: apt-get install -y chromium (make test does)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium (make test installs it); never a downloaded browser."""
    return _chromium_or_skip()


@pytest.fixture(scope="session")
def shared_chromium() -> Iterator[SharedChromium]:
    """The test process's one Chromium (``tests.shared_browser``), started on first use."""
    shared = SharedChromium(_chromium_or_skip(), CHROMIUM_ARGS)
    shared.start()
    yield shared
    shared.stop()


@pytest.fixture
async def browser(shared_chromium: SharedChromium) -> AsyncIterator[Browser]:
    """Headless Chromium driven by Playwright: the process's shared browser, reached over
    its DevTools port. Contexts the test opens are its own and close with it."""
    # Playwright's 5 s default for ``expect`` is short for a page that loads the loader,
    # the manager and the configuration on a 2-core machine running two test processes
    # (a CI run once missed an invitation that way); a check that holds still returns
    # at once.
    expect.set_options(timeout=15_000)
    async with async_playwright() as pw:
        browser = await pw.chromium.connect_over_cdp(shared_chromium.endpoint)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """``chat_engine.cli.main()`` configures logging for real (the CLI tests, and e2e tests
    that run a command in process): undo it, or the next test's output would go to a
    stream pytest has already closed and its loggers would keep the CLI's levels."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet = {
        name: logging.getLogger(name).level
        for name in ("slixmpp", "engineio", "socketio", "alembic")
    }
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    for name, quiet_level in quiet.items():
        logging.getLogger(name).setLevel(quiet_level)


@pytest.fixture(autouse=True)
def _restore_gc() -> Iterator[None]:
    """``chat-engine run`` and ``dev`` tune the process's garbage collector once the engine
    has started (``chat_engine.gc_tuning``): a test that runs one in process gets it back
    as it was, so the rest of the run collects as Python does."""
    thresholds = gc.get_threshold()
    yield
    if gc.get_freeze_count():
        gc.unfreeze()
    gc.set_threshold(*thresholds)
