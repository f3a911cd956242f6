"""Retention is enforced by the running engine itself: with a tenant's retention set,
the engine's own background purger (``RetentionPurger``, every ``[files]
purge_interval_seconds``) deletes an ended conversation past it and a visitor idle for
longer, with no command run, and leaves a recently ended conversation, its visitor and
a new visitor alone; over SQLite and PostgreSQL, against a real Prosody."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from business.commands import OpenSession, StartConversation
from business.integrator_commands import EndByIntegrator
from business.model import DEFAULT_TENANT, ConversationId, VisitorId
from business.retention import ConfigureRetention
from business.services import Services
from chat_engine.engine import Engine
from chat_engine.local_ports import free_port
from chat_engine.prosody import ProsodyServer
from chat_engine.settings import load_settings
from data import Database
from data.models import ConversationRow, VisitorRow
from tests.conftest import BACKENDS, fresh_database_url
from tests.fakes import FakeClock

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("prosody") is None, reason="Prosody is not installed"),
]

DAY = 86_400


@pytest.fixture(scope="module")
def prosody(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProsodyServer]:
    server = ProsodyServer(
        tmp_path_factory.mktemp("prosody"),
        component_secret="engine-retention-secret-engine-retention",
        c2s_port=free_port(),
        component_port=free_port(),
    )
    server.start()
    yield server
    server.stop()


async def _ended_chat(services: Services) -> tuple[VisitorId, ConversationId]:
    session = await services.sessions.open_session(OpenSession(tenant_id=DEFAULT_TENANT))
    conversation = await services.conversations.start_conversation(
        StartConversation(visitor_id=session.visitor.id)
    )
    await services.integrator_control.end(
        EndByIntegrator(tenant_id=DEFAULT_TENANT, conversation_id=conversation.id)
    )
    return session.visitor.id, conversation.id


async def _new_visitor(services: Services) -> VisitorId:
    session = await services.sessions.open_session(OpenSession(tenant_id=DEFAULT_TENANT))
    return session.visitor.id


async def _stored(url: str) -> set[str]:
    """The ids of every conversation and visitor in the database."""
    database = Database.from_url(url)
    try:
        async with database.begin() as connection:
            conversations = await connection.scalars(select(ConversationRow.id))
            visitors = await connection.scalars(select(VisitorRow.id))
            return {*conversations, *visitors}
    finally:
        await database.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_engine_purges_what_is_past_retention_by_itself(
    prosody: ProsodyServer, tmp_path: Path, backend: str
) -> None:
    async with fresh_database_url(backend, tmp_path) as url:
        settings = load_settings(
            None,
            {},
            {
                "http.port": 0,
                "database.url": url,
                "xmpp.host": prosody.host,
                "xmpp.port": prosody.component_port,
                "xmpp.secret": prosody.component_secret,
                "files.dir": str(tmp_path / "files"),
                "files.purge_interval_seconds": 0.2,
            },
        )
        clock = FakeClock(datetime.now(UTC))
        async with Engine(settings, clock=clock) as engine:
            services = engine.services
            old_visitor, old_chat = await _ended_chat(services)
            idle_visitor = await _new_visitor(services)
            clock.advance(4 * DAY)
            recent_visitor, recent_chat = await _ended_chat(services)
            new_visitor = await _new_visitor(services)
            await services.retention_settings.configure(
                ConfigureRetention(tenant_id=DEFAULT_TENANT, conversations_days=3, visitors_days=1)
            )
            gone = {old_visitor, old_chat, idle_visitor}
            for _ in range(100):
                if not gone & await _stored(url):
                    break
                await asyncio.sleep(0.1)
            stored = await _stored(url)
            assert gone & stored == set()
            assert {recent_visitor, recent_chat, new_visitor} <= stored
