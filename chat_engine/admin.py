"""One-shot administration against the database: migrations, the agent directory, queue
settings, canned responses, conversation reports, tenants and API keys.

Used by the CLI and by ``dev``; none of it needs the XMPP server or the web server, and
none of it routes (this process has no XMPP link to offer chats with): a running engine
applies what changed at its next dispatch, at the latest when an agent's presence or a
chat changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import date

from business import commands as c
from business.analytics import PageViewDay, TriggerFigures
from business.api_keys import CreatedApiKey
from business.conversation import Conversation
from business.errors import NotFound
from business.identity_model import IdentitySettings
from business.identity_settings import ConfigureIdentity
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    Agent,
    ApiKey,
    CannedResponse,
    Queue,
    QueueName,
    Tenant,
    TenantId,
)
from business.outbound_visitors import OpenThreadToVisitor
from business.redaction import RedactionSettings
from business.redaction_settings import ConfigureRedaction
from business.report_metrics import ConversationMetrics
from business.reports import MAX_PAGE_SIZE, ReportQuery
from business.services import Services
from business.widget_config import WidgetConfig
from chat_engine.bootstrap import bootstrap
from chat_engine.settings import Settings
from data import Database


def open_database(settings: Settings) -> Database:
    """The database of ``settings``; a new SQLite file (and its directory) is private."""
    return Database.from_settings(settings.database)


@asynccontextmanager
async def _services(settings: Settings) -> AsyncIterator[Services]:
    """The services over the database of ``settings``, migrated and with the default
    tenant in place; the database is closed on exit."""
    database = open_database(settings)
    try:
        await database.migrate()
        services = bootstrap(uow=database.unit_of_work, limits=settings.limits)
        await services.tenants.ensure_tenant(
            DEFAULT_TENANT, name="Default", queues=(DEFAULT_QUEUE,)
        )
        yield services
    finally:
        await database.dispose()


async def _tenant(services: Services, tenant_id: TenantId) -> None:
    """Refuse a tenant that does not exist, saying where the tenants are listed: a
    misspelt ``--tenant`` must not read as an empty tenant."""
    try:
        await services.tenants.get_tenant(tenant_id)
    except NotFound:
        raise NotFound(
            f"unknown tenant {tenant_id!r} (chat-engine tenant list shows the tenants)"
        ) from None


async def upgrade_database(settings: Settings) -> None:
    async with _services(settings):
        pass


async def add_agents(settings: Settings, commands: Sequence[c.AddAgent]) -> list[Agent]:
    """Create or update agents (and their queues); migrates the database first.

    Every tenant and address is checked before any agent is written. Nothing is routed
    here.
    """
    async with _services(settings) as services:
        for tenant_id in dict.fromkeys(command.tenant_id for command in commands):
            await _tenant(services, tenant_id)
        for command in commands:
            services.agents.normalize_address(command.address)
        return [await services.agents.add_agent(command, route=False) for command in commands]


async def list_agents(settings: Settings, tenant_id: TenantId) -> Sequence[Agent]:
    async with _services(settings) as services:
        await _tenant(services, tenant_id)
        return await services.agents.list_agents(tenant_id)


async def remove_agent(settings: Settings, tenant_id: TenantId, address: str) -> Agent:
    """Remove the tenant's agent at ``address`` (``business.agent_removal``: refused
    while they have a chat open); an agent of another tenant is as unknown as nobody."""
    async with _services(settings) as services:
        await _tenant(services, tenant_id)
        normalized = services.agents.normalize_address(address)
        agent = await services.agents.find_agent(normalized)
        if agent is None or agent.tenant_id != tenant_id:
            raise NotFound(f"tenant {tenant_id} has no agent {normalized}")
        return await services.agent_removal.remove(
            c.RemoveAgent(tenant_id=tenant_id, agent_id=agent.id)
        )


async def list_queues(settings: Settings, tenant_id: TenantId) -> Sequence[Queue]:
    async with _services(settings) as services:
        await _tenant(services, tenant_id)
        return await services.tenants.list_queues(tenant_id)


async def configure_queue(
    settings: Settings, command: c.ConfigureQueue
) -> tuple[Queue, Sequence[Agent]]:
    """Change a queue's settings; returns the queue and the agents who serve it (so the
    caller can tell whether any of them has the skills it requires)."""
    async with _services(settings) as services:
        await _tenant(services, command.tenant_id)
        queue = await services.queue_settings.configure(command)
        agents = await services.agents.list_agents(command.tenant_id)
        return queue, [a for a in agents if queue.name in a.queues]


async def open_visitor_thread(settings: Settings, command: OpenThreadToVisitor) -> Conversation:
    """``chat-engine thread open``: the stored thread waits parked for the visitor, so
    the running engine needs no word of it (its webhooks go out from the outbox)."""
    async with _services(settings) as services:
        await _tenant(services, command.tenant_id)
        return await services.outbound_visitor_threads.open_thread(command)


async def add_canned(settings: Settings, command: c.AddCannedResponse) -> CannedResponse:
    async with _services(settings) as services:
        await _tenant(services, command.tenant_id)
        return await services.canned.add(command)


async def list_canned(
    settings: Settings, tenant_id: TenantId, queue: QueueName | None
) -> Sequence[CannedResponse]:
    async with _services(settings) as services:
        await _tenant(services, tenant_id)
        return await services.canned.list(tenant_id, queue)


async def remove_canned(settings: Settings, command: c.RemoveCannedResponse) -> None:
    async with _services(settings) as services:
        await _tenant(services, command.tenant_id)
        await services.canned.remove(command)


async def conversation_reports(
    settings: Settings, query: ReportQuery, *, agent_address: str | None = None
) -> AsyncIterator[Sequence[ConversationMetrics]]:
    """The reports ``query`` selects, page by page (its cursor and limit are ignored);
    ``agent_address``: only the chats that agent had last."""
    async with _services(settings) as services:
        await _tenant(services, query.tenant_id)
        if agent_address is not None:
            address = services.agents.normalize_address(agent_address)
            agent = await services.agents.find_agent(address)
            if agent is None or agent.tenant_id != query.tenant_id:
                raise NotFound(f"no agent {address}")
            query = dataclasses.replace(query, agent_id=agent.id)
        query = dataclasses.replace(query, cursor=None, limit=MAX_PAGE_SIZE)
        while True:
            page = await services.reports.conversations(query)
            yield page.reports
            if page.next_cursor is None:
                return
            query = dataclasses.replace(query, cursor=page.next_cursor)


async def analytics_triggers(
    settings: Settings, tenant_id: TenantId, *, first_day: date, last_day: date
) -> Sequence[TriggerFigures]:
    """Per-trigger impressions and engagements of the tenant over the period."""
    async with _services(settings) as services:
        await _tenant(services, tenant_id)
        return await services.analytics.triggers(tenant_id, first_day=first_day, last_day=last_day)


async def analytics_page_views(
    settings: Settings, tenant_id: TenantId, *, first_day: date, last_day: date
) -> Sequence[PageViewDay]:
    """The tenant's page views per day over the period."""
    async with _services(settings) as services:
        await _tenant(services, tenant_id)
        return await services.analytics.page_views(
            tenant_id, first_day=first_day, last_day=last_day
        )


async def create_tenant(settings: Settings, command: c.CreateTenant) -> Tenant:
    async with _services(settings) as services:
        return await services.tenants.create_tenant(command)


async def list_tenants(settings: Settings) -> Sequence[Tenant]:
    async with _services(settings) as services:
        return await services.tenants.list_tenants()


async def configure_tenant(settings: Settings, command: c.ConfigureTenant) -> Tenant:
    async with _services(settings) as services:
        return await services.tenant_settings.configure(command)


async def create_api_key(settings: Settings, command: c.CreateApiKey) -> CreatedApiKey:
    async with _services(settings) as services:
        return await services.api_keys.create(command)


async def list_api_keys(settings: Settings, tenant_id: TenantId | None) -> Sequence[ApiKey]:
    """The keys of ``tenant_id`` (None: every key); ``NotFound`` for an unknown tenant."""
    async with _services(settings) as services:
        if tenant_id is not None:
            await services.tenants.get_tenant(tenant_id)
        return await services.api_keys.list(tenant_id)


async def revoke_api_key(settings: Settings, command: c.RevokeApiKey) -> ApiKey:
    async with _services(settings) as services:
        return await services.api_keys.revoke(command)


async def widget_config(settings: Settings, tenant_id: TenantId) -> WidgetConfig:
    async with _services(settings) as services:
        await _tenant(services, tenant_id)
        return await services.widget_configs.get(tenant_id)


async def identity_settings(settings: Settings, tenant_id: TenantId) -> IdentitySettings:
    async with _services(settings) as services:
        return await services.identity_settings.get(tenant_id)


async def configure_identity(settings: Settings, cmd: ConfigureIdentity) -> IdentitySettings:
    async with _services(settings) as services:
        return await services.identity_settings.configure(cmd)


async def redaction_settings(settings: Settings, tenant_id: TenantId) -> RedactionSettings:
    async with _services(settings) as services:
        return await services.redaction_settings.get(tenant_id)


async def configure_redaction(settings: Settings, cmd: ConfigureRedaction) -> RedactionSettings:
    async with _services(settings) as services:
        return await services.redaction_settings.configure(cmd)


async def put_widget_config(
    settings: Settings, tenant_id: TenantId, document: object
) -> WidgetConfig:
    async with _services(settings) as services:
        await _tenant(services, tenant_id)
        return await services.widget_configs.put(tenant_id, document)


async def record_admin_action(
    settings: Settings,
    *,
    actor: str,
    action: str,
    tenant_id: TenantId | None,
    target: str | None,
    detail: dict[str, object],
) -> None:
    """Append an administrator's action to the audit log (``business.audit``), once the
    command that did it has succeeded."""
    async with _services(settings) as services:
        await services.audit.record(
            actor=actor, action=action, tenant_id=tenant_id, target=target, detail=detail
        )
