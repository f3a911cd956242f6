"""The wired engine in this process against a real Prosody: start, serve, stop, restart."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from business.commands import OpenSession, StartConversation
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT
from chat_engine.engine import Engine
from chat_engine.local_ports import free_port
from chat_engine.prosody import ProsodyServer
from chat_engine.settings import Settings, load_settings

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("prosody") is None, reason="Prosody is not installed"),
]


@pytest.fixture(scope="module")
def prosody(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProsodyServer]:
    server = ProsodyServer(
        tmp_path_factory.mktemp("prosody"),
        component_secret="engine-test-secret-engine-test-secret",
        c2s_port=free_port(),
        component_port=free_port(),
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(prosody: ProsodyServer, tmp_path: Path) -> Settings:
    return load_settings(
        None,
        {},
        {
            "http.port": 0,
            "database.url": f"sqlite+aiosqlite:///{tmp_path / 'db' / 'engine.db'}",
            "xmpp.host": prosody.host,
            "xmpp.port": prosody.component_port,
            "xmpp.secret": prosody.component_secret,
            "xmpp.reconnect_min_delay": 0.1,
            "xmpp.reconnect_max_delay": 1.0,
        },
    )


async def get_json(url: str) -> tuple[int, object]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.json()


async def get_metrics(url: str) -> dict[str, float]:
    """Each sample of ``/metrics`` by its name and labels as the text format writes them."""
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        text = await response.text()
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            found[sample.name + (f"{{{labels}}}" if labels else "")] = sample.value
    return found


async def test_engine_starts_serves_and_stops(settings: Settings) -> None:
    engine = Engine(settings)
    await engine.start()
    try:
        assert engine.port is not None
        assert engine.port > 0
        assert engine.url == f"http://127.0.0.1:{engine.port}"
        await engine.bridge.wait_connected(15)

        status, health = await get_json(f"{engine.url}/healthz")
        assert status == 200, health
        assert await get_json(f"{engine.url}/livez") == (200, {"status": "ok"})
        status, ready = await get_json(f"{engine.url}/readyz")
        assert status == 200, ready
        # The XMPP link is shown; it would not fail readiness.
        assert ready == {
            "status": "ok",
            "draining": False,
            "checks": {"database": "ok", "xmpp": "ok"},
            "reported_only": ["xmpp"],
        }
        # The default tenant and its queue exist, so a visitor can start at once.
        session = await engine.services.sessions.open_session(OpenSession(tenant_id=DEFAULT_TENANT))
        conversation = await engine.services.conversations.start_conversation(
            StartConversation(visitor_id=session.visitor.id)
        )
        assert conversation.queue == DEFAULT_QUEUE
        # /metrics reads what the engine wired: the link, the delivery lag, the database.
        metrics = await get_metrics(f"{engine.url}/metrics")
        assert metrics["chat_xmpp_link_up"] == 1
        assert metrics["chat_database_up"] == 1
        assert metrics["chat_agent_delivery_lag_seconds"] >= 0
        assert metrics["chat_webhook_backlog"] == 0
        assert metrics['chat_queue_waiting{queue="support",tenant="default"}'] == 1
        assert metrics['chat_conversations_started_total{queue="support",tenant="default"}'] == 1
        # Each layer got its section itself, not a copy made field by field.
        assert engine.services.limits is settings.limits
    finally:
        await engine.stop()

    assert not engine.running
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", engine.port), 1).close()


async def test_engine_restarts_on_the_same_database(settings: Settings) -> None:
    async with Engine(settings) as engine:
        session = await engine.services.sessions.open_session(OpenSession(tenant_id=DEFAULT_TENANT))
    # Stopped and started again: a new port, the same data, a working XMPP link.
    async with Engine(settings) as engine:
        await engine.bridge.wait_connected(15)
        again = await engine.services.sessions.open_session(
            OpenSession(tenant_id=DEFAULT_TENANT, visitor_token=session.visitor_token)
        )
        assert again.visitor.id == session.visitor.id
        assert not again.is_new
    # One engine object can be started again after a stop, too.
    await engine.start()
    await engine.stop()


async def test_a_taken_http_port_fails_start_and_leaves_nothing_running(
    settings: Settings,
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        busy = load_settings(None, {}, {"http.port": port})
        engine = Engine(
            Settings(
                http=busy.http,
                database=settings.database,
                xmpp=settings.xmpp,
            )
        )
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
            await engine.start()
    assert not engine.running
