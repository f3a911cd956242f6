"""One-shot administration against the database: migrations and the agent directory.

Used by the CLI and by ``dev``; none of it needs the XMPP server or the web server.
"""

from __future__ import annotations

from collections.abc import Sequence

from business.commands import AddAgent
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, Agent, Queue, QueueName
from business.services import Services
from chat_engine.bootstrap import bootstrap
from chat_engine.settings import Settings
from data import Database


def open_database(settings: Settings) -> Database:
    """The database of ``settings``; a new SQLite file (and its directory) is private."""
    return Database.from_settings(settings.database)


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

    Every address is checked before any agent is written. Nothing is routed here (this
    process has no XMPP link to offer chats with): a running engine routes to the agent
    at its next dispatch, at the latest when their presence next changes.
    """
    database = open_database(settings)
    try:
        agents = (await _migrated(database)).agents
        for command in commands:
            agents.normalize_address(command.address)
        return [await agents.add_agent(command, route=False) for command in commands]
    finally:
        await database.dispose()


async def list_agents(settings: Settings) -> Sequence[Agent]:
    database = open_database(settings)
    try:
        return await (await _migrated(database)).agents.list_agents()
    finally:
        await database.dispose()


async def list_queues(settings: Settings) -> Sequence[Queue]:
    database = open_database(settings)
    try:
        return await (await _migrated(database)).tenants.list_queues(DEFAULT_TENANT)
    finally:
        await database.dispose()


async def set_queue_limit(settings: Settings, queue: QueueName, max_waiting: int | None) -> Queue:
    """Cap the conversations waiting in ``queue`` (None: the engine's default)."""
    database = open_database(settings)
    try:
        tenants = (await _migrated(database)).tenants
        return await tenants.set_queue_limit(DEFAULT_TENANT, queue, max_waiting)
    finally:
        await database.dispose()
