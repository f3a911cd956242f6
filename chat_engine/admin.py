"""One-shot administration against the database: migrations and the agent directory.

Used by the CLI and by ``dev``; none of it needs the XMPP server or the web server.
"""

from __future__ import annotations

from collections.abc import Sequence

from slixmpp import JID
from slixmpp.jid import InvalidJID

from business.commands import AddAgent
from business.errors import InvalidInput
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, Agent
from business.publishing import EventPublisher
from business.routing import Router
from business.services import AgentService, SystemClock, ensure_tenant
from chat_engine.settings import Settings, sqlite_path
from data import Database


def open_database(settings: Settings) -> Database:
    """The database of ``settings``; makes the directory of a SQLite file on the way."""
    path = sqlite_path(settings.database.url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    return Database.from_url(settings.database.url)


async def upgrade_database(settings: Settings) -> None:
    database = open_database(settings)
    try:
        await database.migrate()
        await ensure_tenant(
            database.unit_of_work, DEFAULT_TENANT, name="Default", queues=(DEFAULT_QUEUE,)
        )
    finally:
        await database.dispose()


async def add_agents(settings: Settings, commands: Sequence[AddAgent]) -> list[Agent]:
    """Create or update agents (and their queues); migrates the database first."""
    database = open_database(settings)
    try:
        await database.migrate()
        uow = database.unit_of_work
        await ensure_tenant(uow, DEFAULT_TENANT, name="Default", queues=(DEFAULT_QUEUE,))
        clock = SystemClock()
        # Nothing is queued for a new agent here: a running engine routes to them as soon
        # as their presence says they are ready.
        router = Router(uow=uow, clock=clock, publisher=EventPublisher())
        service = AgentService(uow=uow, router=router, clock=clock)
        for command in commands:
            _check_canonical_jid(command.agent_id)
        return [await service.add_agent(command) for command in commands]
    finally:
        await database.dispose()


async def list_agents(settings: Settings) -> Sequence[Agent]:
    database = open_database(settings)
    try:
        await database.migrate()
        uow = database.unit_of_work
        router = Router(uow=uow, clock=SystemClock(), publisher=EventPublisher())
        return await AgentService(uow=uow, router=router).list_agents()
    finally:
        await database.dispose()


def _check_canonical_jid(jid: str) -> None:
    """Refuse a JID the XMPP side would spell differently.

    The bridge recognises agents by the JID their server stamps on stanzas, which is
    normalised (stringprep: case, Unicode compatibility forms such as fullwidth letters).
    Business only lower-cases, so an agent stored in another spelling would never be
    recognised, and their presence probes would be refused.
    """
    try:
        canonical = str(JID(jid).bare)
    except InvalidJID as error:
        raise InvalidInput(f"{jid!r} is not a valid JID: {error}") from None
    if canonical and canonical != jid.lower():
        raise InvalidInput(f"{jid!r} is not how XMPP servers write it; use {canonical!r}")
