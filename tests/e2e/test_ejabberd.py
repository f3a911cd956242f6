"""The engine on a real ejabberd (Debian 12's 23.01) instead of Prosody.

What a team scaling out would notice if it broke: the core chat (offer, messages and
typing both ways, ``!end``) works the same on ejabberd; and several engine processes can
each hold a component connection to the same domain, with every conversation's stanzas
going to one and the same connection (``domain_balancing: bare_destination``).

One ejabberd per module (per pytest-xdist worker): an Erlang node of its own, no epmd.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import shutil
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from business import commands as c
from business.messaging import MessagingService, Posted
from chat_engine.ejabberd import EjabberdServer
from chat_engine.engine import Engine
from chat_engine.local_ports import accepts, free_port
from chat_engine.settings import Settings
from tests.conftest import BACKENDS, fresh_database_url
from tests.e2e.agent import Received, ScriptedAgent
from tests.e2e.conftest import AgentAccount, RegisterAgent, _settings
from tests.e2e.test_chat_flow import (
    WAIT,
    add_agent,
    conversation_jid,
    new_visitor,
    queue_jid,
    start_chat,
    test_visitor_and_agent_chat_both_ways_with_typing_and_end as test_core_chat_flow_on_ejabberd,
)

pytestmark = pytest.mark.e2e

__all__ = ["test_core_chat_flow_on_ejabberd"]  # collected here, on this module's fixtures

MAX_CONVERSATIONS = 12
"""At most this many conversations until both engines have had one: a conversation's
connection is fixed by a hash of its address, so with two connections the odds that
twelve all hash to the same one are 1 in 2048."""
MESSAGES_EACH = 2


def _running_ejabberd(
    tmp_path_factory: pytest.TempPathFactory, component_number: int
) -> Iterator[EjabberdServer]:
    if shutil.which("ejabberdctl") is None:
        pytest.skip("ejabberd is not installed (deploy/scripts/setup.sh --test installs it)")
    server = EjabberdServer(
        tmp_path_factory.mktemp("ejabberd"),
        component_secret=secrets.token_hex(32),
        c2s_port=free_port(),
        component_port=free_port(),
        component_number=component_number,
    )
    server.start(timeout=60)
    yield server
    server.stop()
    # Stopped for good: nothing of the node (shell, erl, beam.smp) still listens, and it
    # started no epmd of its own.
    assert not any(accepts(server.host, port) for port in server.ports)
    # Nothing crashed inside the server along the way (a hook crash is only logged).
    log = server.log_file.read_text()
    assert "[error]" not in log
    assert "[critical]" not in log


@pytest.fixture(scope="module")
def ejabberd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EjabberdServer]:
    """For one engine: ``component_number`` must be the number of engine processes, or
    the conversations that hash to an empty slot are dropped."""
    yield from _running_ejabberd(tmp_path_factory, 1)


@pytest.fixture(scope="module")
def ejabberd_for_two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EjabberdServer]:
    yield from _running_ejabberd(tmp_path_factory, 2)


@pytest.fixture
def register_agent(ejabberd: EjabberdServer) -> RegisterAgent:
    """Overrides the Prosody one: accounts on this module's ejabberd."""

    def register(name: str | None = None) -> AgentAccount:
        user = f"{name or 'agent'}-{secrets.token_hex(3)}"
        password = secrets.token_urlsafe(12)
        jid = ejabberd.register(user, password)
        return AgentAccount(jid=jid, password=password, host=ejabberd.host, port=ejabberd.c2s_port)

    return register


@pytest.fixture(params=BACKENDS)
async def engine_settings(
    request: pytest.FixtureRequest, ejabberd: EjabberdServer, tmp_path: Path
) -> AsyncIterator[Settings]:
    """Overrides the Prosody one, so conftest's ``engine`` runs on ejabberd."""
    async with fresh_database_url(request.param, tmp_path) as url:
        yield _settings(ejabberd, url)


async def test_registering_an_existing_account_sets_its_password(
    ejabberd: EjabberdServer, cleanup: list[Any]
) -> None:
    user = f"again-{secrets.token_hex(3)}"
    await ejabberd.aregister(user, "first-password")
    jid = await ejabberd.aregister(user, "second-password")
    agent = ScriptedAgent(jid, "second-password", host=ejabberd.host, port=ejabberd.c2s_port)
    cleanup.append(agent)
    await agent.connect()  # raises unless the new password is the one that works


class _Recorder:
    """Which engine stored each agent message: wraps one engine's messaging service."""

    def __init__(self, messaging: MessagingService, name: str, seen: dict[str, set[str]]) -> None:
        self._send = messaging.send_agent_message
        self._name = name
        self._seen = seen

    async def __call__(self, cmd: c.SendAgentMessage) -> Posted:
        self._seen.setdefault(str(cmd.conversation_id), set()).add(self._name)
        return await self._send(cmd)


@pytest.fixture(params=[p for p in BACKENDS if p.id == "postgres"])
async def two_engine_settings(
    request: pytest.FixtureRequest, ejabberd_for_two: EjabberdServer, tmp_path: Path
) -> AsyncIterator[Settings]:
    """PostgreSQL only: several engine processes share a PostgreSQL, not an SQLite file."""
    async with fresh_database_url(request.param, tmp_path) as url:
        yield _settings(ejabberd_for_two, url)


async def test_two_engines_share_the_component_domain_and_a_conversation_stays_on_one(
    two_engine_settings: Settings,
    ejabberd_for_two: EjabberdServer,
    cleanup: list[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = Engine(two_engine_settings)
    second = Engine(two_engine_settings)
    await first.start()
    try:
        await first.bridge.wait_connected(WAIT)
        password = secrets.token_urlsafe(12)
        jid = ejabberd_for_two.register(f"dana-{secrets.token_hex(3)}", password)
        account = AgentAccount(
            jid=jid, password=password, host=ejabberd_for_two.host, port=ejabberd_for_two.c2s_port
        )
        # Before the second process starts: its agent cache is its own until caches are
        # invalidated across processes (issue 12's later part).
        await add_agent(first, account, "Dana", max_chats=MAX_CONVERSATIONS)
        # Same database, same component domain and secret: ejabberd accepts this second
        # connection too (Prosody would refuse it with `conflict`). Both connect before
        # the agent: until the second does, what hashes to its slot is dropped.
        await second.start()
        await second.bridge.wait_connected(WAIT)
        assert first.bridge.connected
        assert second.bridge.connected
        agent = ScriptedAgent(account.jid, account.password, host=account.host, port=account.port)
        cleanup.append(agent)
        await agent.connect()
        agent.subscribe(queue_jid(first))
        # Whichever process got the queue's address (support@) saw the agent come online;
        # the other one's agent cache does not know yet (per process, for now), so the
        # visitors come to that one.
        home = await _where_ready((first, second), account.jid)

        handled_by: dict[str, set[str]] = {}
        for engine, name in ((first, "first"), (second, "second")):
            messaging = engine.services.messaging
            recorder = _Recorder(messaging, name, handled_by)
            monkeypatch.setattr(messaging, "send_agent_message", recorder)

        visitors: dict[str, Any] = {}
        for n in range(MAX_CONVERSATIONS):
            visitor = await new_visitor(home, cleanup)
            conversation_id = await start_chat(visitor, f"Question {n}", name=f"V{n}")
            visitors[conversation_id] = visitor
            conv_jid = conversation_jid(home, conversation_id)
            await agent.wait_for(_offer_from(conv_jid))
            for k in range(MESSAGES_EACH):
                agent.send(conv_jid, f"Answer {n}.{k}")
            await _stored(
                visitor, conversation_id, [f"Answer {n}.{k}" for k in range(MESSAGES_EACH)]
            )
            if {"first", "second"} <= set().union(*handled_by.values()):
                break

        # Every conversation's messages were all handled by one engine, and each engine
        # handled some: the domain is balanced, per conversation.
        assert set(handled_by) == set(visitors)
        assert all(len(engines) == 1 for engines in handled_by.values()), handled_by
        assert set().union(*handled_by.values()) == {"first", "second"}, handled_by
    finally:
        await second.stop()
        await first.stop()


def _offer_from(conv_jid: str) -> Callable[[Received], bool]:
    return lambda m: m.from_jid == conv_jid and bool(m.body)


async def _where_ready(engines: tuple[Engine, ...], jid: str) -> Engine:
    deadline = time.monotonic() + WAIT
    while True:
        for engine in engines:
            agent = await engine.services.agents.find_agent(jid)
            if agent is not None and agent.ready:
                return engine
        if time.monotonic() > deadline:
            raise AssertionError(f"{jid} never became ready")
        await asyncio.sleep(0.05)


async def _stored(visitor: Any, conversation_id: str, texts: list[str]) -> None:
    """Wait until the conversation's history holds ``texts`` (whichever engine stored
    them: both share the database)."""
    deadline = time.monotonic() + WAIT
    while True:
        synced = await visitor.ok("sync", {"conversation_id": conversation_id, "after_seq": 0})
        got = [e["text"] for e in synced["events"] if e["type"] == "message"]
        if all(got.count(text) == 1 for text in texts):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{conversation_id}: stored {got}, wanted {texts} once each")
        await asyncio.sleep(0.1)


async def test_each_of_two_engines_gets_its_delivery_pings_answered(
    two_engine_settings: Settings,
) -> None:
    """The domain's own address hashes to one slot like any other: with delivery echoes
    (pings, before) from and to it, only the engine holding that slot heard back, and
    the other dropped and re-opened its link every ``delivery_confirm_timeout``. With
    ``standby_links`` each echoes from an address of its own slot."""
    xmpp = dataclasses.replace(two_engine_settings.xmpp, standby_links=True)
    settings = dataclasses.replace(two_engine_settings, xmpp=xmpp)
    engines = (Engine(settings), Engine(settings))
    try:
        for engine in engines:
            await engine.start()
            await engine.bridge.wait_connected(WAIT)
        for engine in engines:
            # The delivery confirmation's own round trip (no public way to ask for one).
            assert await engine.bridge._link.round_trip(WAIT)
    finally:
        for engine in engines:
            await engine.stop()
