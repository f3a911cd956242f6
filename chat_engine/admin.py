"""One-shot administration against the database: migrations and the agent directory.

Used by the CLI and by ``dev``; none of it needs the XMPP server or the web server.
"""

from __future__ import annotations

from collections.abc import Sequence

from business.commands import AddAgent
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, Agent
from business.services import Services
from chat_engine.bootstrap import bootstrap
from chat_engine.settings import Settings, sqlite_path
from data import Database


def open_database(settings: Settings) -> Database:
    """The database of ``settings``; makes the directory of a SQLite file on the way."""
    path = sqlite_path(settings.database.url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    return Database.from_url(settings.database.url)


async def _migrated(database: Database) -> Services:
    """The services over ``database``, migrated and with the default tenant in place."""
    await database.migrate()
    services = bootstrap(uow=database.unit_of_work)
    await services.tenants.ensure_tenant(DEFAULT_TENANT, name="Default", queues=(DEFAULT_QUEUE,))
    return services


async def upgrade_database(settings: Settings) -> None:
    database = open_database(settings)
    try:
        await _migrated(database)
    finally:
        await database.dispose()


async def add_agents(settings: Settings, commands: Sequence[AddAgent]) -> list[Agent]:
    """Create or update agents (and their queues); migrates the database first.

    Every address is checked before any agent is written. Nothing is routed here: a
    running engine routes to a new agent as soon as their presence says they are ready.
    """
    database = open_database(settings)
    try:
        agents = (await _migrated(database)).agents
        for command in commands:
            agents.normalize_address(command.address)
        return [await agents.add_agent(command) for command in commands]
    finally:
        await database.dispose()


async def list_agents(settings: Settings) -> Sequence[Agent]:
    database = open_database(settings)
    try:
        return await (await _migrated(database)).agents.list_agents()
    finally:
        await database.dispose()
