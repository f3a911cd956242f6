"""A real Prosody for the end-to-end tests: one per session, on free loopback ports.

Fixtures:

- ``prosody``: the session's ``ProsodyServer`` (running); ``host``, ``c2s_port``,
  ``component_port``, ``component_jid``, ``component_secret`` say how to reach it.
- ``register_agent``: makes a fresh account, ``register_agent()`` or
  ``register_agent("alice")``, and returns an ``AgentAccount``.
- ``restart_prosody``: ``await restart_prosody()`` restarts the server (accounts survive,
  connections drop); after the test the server runs again whatever the test did.
- ``engine_settings``: ``Settings`` for an engine on this Prosody, with SQLite in the
  test's tmp directory and HTTP on a free port.
- ``sharing_prosody`` (one per module) and ``sharing_engine``: a Prosody with its HTTP
  listener, so XEP-0363 uploads (``http_file_share``) work, and an engine on it;
  ``sharing_account(server, name)`` makes an account there.
"""

from __future__ import annotations

import itertools
import secrets
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from chat_engine.engine import Engine
from chat_engine.local_ports import free_port
from chat_engine.prosody import ProsodyServer
from chat_engine.settings import Settings, load_settings
from tests.conftest import BACKENDS, fresh_database_url


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentAccount:
    jid: str
    password: str
    host: str
    port: int


class XmppServer(Protocol):
    """What the engine's settings need of a server: Prosody or ejabberd."""

    @property
    def host(self) -> str: ...
    @property
    def component_port(self) -> int: ...
    @property
    def component_jid(self) -> str: ...
    @property
    def component_secret(self) -> str: ...


RegisterAgent = Callable[..., AgentAccount]
RestartProsody = Callable[[], Awaitable[None]]

_names = itertools.count(1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/e2e is end to end (slow, real Prosody): marked so here, so
    that a module which forgets its ``pytestmark`` still stays out of ``-m "not e2e"``."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def prosody(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProsodyServer]:
    if shutil.which("prosody") is None:
        pytest.skip("Prosody is not installed (make test installs it)")
    server = ProsodyServer(
        tmp_path_factory.mktemp("prosody"),
        component_secret=secrets.token_hex(32),
        c2s_port=free_port(),
        component_port=free_port(),
    )
    server.start(timeout=30)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sharing_prosody(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProsodyServer]:
    """A Prosody with its HTTP listener, so ``http_file_share`` is on."""
    if shutil.which("prosody") is None:
        pytest.skip("Prosody is not installed (make test installs it)")
    server = ProsodyServer(
        tmp_path_factory.mktemp("prosody-share"),
        component_secret=secrets.token_hex(32),
        c2s_port=free_port(),
        component_port=free_port(),
        websocket_port=free_port(),
    )
    server.start(timeout=30)
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
async def sharing_engine(
    request: pytest.FixtureRequest, sharing_prosody: ProsodyServer, tmp_path: Path
) -> AsyncIterator[Engine]:
    async with fresh_database_url(request.param, tmp_path) as url:
        engine = Engine(_settings(sharing_prosody, url))
        await engine.start()
        try:
            await engine.bridge.wait_connected(20.0)
            yield engine
        finally:
            await engine.stop()


def sharing_account(prosody: ProsodyServer, name: str) -> AgentAccount:
    password = secrets.token_urlsafe(12)
    jid = prosody.register(f"{name}-{secrets.token_hex(3)}", password)
    return AgentAccount(jid=jid, password=password, host=prosody.host, port=prosody.c2s_port)


@pytest.fixture
def register_agent(prosody: ProsodyServer) -> RegisterAgent:
    def register(name: str | None = None) -> AgentAccount:
        # Unique per call, so tests sharing the session's server never share an account.
        user = f"{name or 'agent'}-{next(_names)}"
        password = secrets.token_urlsafe(12)
        jid = prosody.register(user, password)
        return AgentAccount(jid=jid, password=password, host=prosody.host, port=prosody.c2s_port)

    return register


@pytest.fixture
def restart_prosody(prosody: ProsodyServer) -> Iterator[RestartProsody]:
    async def restart() -> None:
        await prosody.arestart(timeout=30)

    yield restart
    if not prosody.running:
        prosody.start(timeout=30)


@pytest.fixture(params=BACKENDS)
async def engine_settings(
    request: pytest.FixtureRequest, prosody: ProsodyServer, tmp_path: Path
) -> AsyncIterator[Settings]:
    """Every end-to-end test runs on SQLite and on PostgreSQL."""
    async with fresh_database_url(request.param, tmp_path) as url:
        yield _settings(prosody, url)


def _settings(prosody: XmppServer, database_url: str) -> Settings:
    settings = load_settings(
        None,
        {},
        {
            "http.port": 0,
            "database.url": database_url,
            "xmpp.component_jid": prosody.component_jid,
            "xmpp.host": prosody.host,
            "xmpp.port": prosody.component_port,
            "xmpp.secret": prosody.component_secret,
            # Tests restart Prosody and want the component back quickly.
            "xmpp.reconnect_min_delay": 0.1,
            "xmpp.reconnect_max_delay": 1.0,
        },
    )
    return settings


@pytest.fixture
async def engine(engine_settings: Settings) -> AsyncIterator[Engine]:
    engine = Engine(engine_settings)
    await engine.start()
    await engine.bridge.wait_connected(20.0)
    yield engine
    await engine.stop()


@pytest.fixture
async def cleanup() -> AsyncIterator[list[Any]]:
    """Agents and visitors to disconnect after the test, whatever happened."""
    things: list[Any] = []
    yield things
    for thing in reversed(things):
        await thing.disconnect()
