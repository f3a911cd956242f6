"""The audit log holds every administrator's action and no read: every endpoint an
admin or platform key may call, called with valid input on the caller's own things,
writes exactly one entry naming the action when it changes something and none when it
only reads, over SQLite and PostgreSQL.

The matrix is built from the served routes: an endpoint added later without a case
here fails ``test_every_admin_endpoint_is_in_the_audit_matrix``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import pytest

from business import commands as c
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, ApiKeyScope, QueueName
from business.webhook_commands import CreateWebhook
from business.webhook_ports import HttpResult
from presentation.api.registry import AUDITED_SCOPES, Route, all_routes
from presentation.api.resources import RESOURCES
from tests.harness import World
from tests.presentation.api.chats import BOB_ADDRESS, bob, chat
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import OTHER, Keys
from tests.presentation.api.test_isolation import BODIES, mine_to_write_to

ADMIN_ROUTES: Final = [r for r in all_routes(RESOURCES) if r.scopes & AUDITED_SCOPES]

OWN_ENTRY: Final = {"export_visitor": "visitor.export", "erase_visitor": "visitor.erase"}
"""Endpoints that write their entry themselves, in the transaction of the act: reading a
visitor's whole file is an administrator's act on personal data, though a GET."""

MY_BODIES: Final = {
    **BODIES,
    "transfer_conversation": {"queue": "sales"},
    "open_thread": {"agent_address": BOB_ADDRESS, "text": "Your order shipped."},
    "post_api_channel_message": {**BODIES["post_api_channel_message"], "provider_message_id": "X"},
}


@dataclass(frozen=True, kw_only=True)
class Mine:
    """The default tenant's things, which its admin key acts on; and tenant ``other``'s
    key, which the platform key acts on."""

    agent_id: str
    key_id: str
    other_key_id: str
    conversation_id: str
    ended_id: str
    visitor_id: str
    """Of the ended conversation: with no chat open, it can be erased."""
    webhook_id: str
    delivery_id: str


@pytest.fixture
async def mine(world: World) -> Mine:
    services = world.services
    await services.queues.create(c.CreateQueue(tenant_id=DEFAULT_TENANT, queue=QueueName("sales")))
    hook = await services.webhooks.create(
        CreateWebhook(tenant_id=DEFAULT_TENANT, url="https://93.184.216.34/hook")
    )
    key = await services.api_keys.create(
        c.CreateApiKey(scope=ApiKeyScope.READ, tenant_id=DEFAULT_TENANT, name="spare")
    )
    other_key = await services.api_keys.create(
        c.CreateApiKey(scope=ApiKeyScope.READ, tenant_id=OTHER, name="theirs")
    )
    await services.canned.add(
        c.AddCannedResponse(tenant_id=DEFAULT_TENANT, queue=None, name="hello", text="Hello!")
    )
    live = await chat(world)
    ended = await chat(world, name="Edna")
    await world.conversations.end_by_visitor(
        c.EndConversationByVisitor(conversation_id=ended.id, visitor_id=ended.visitor_id)
    )
    (delivery, *_) = await services.webhooks.list_deliveries(DEFAULT_TENANT)
    return Mine(
        agent_id=await bob(world, ready=False),
        key_id=key.key.id,
        other_key_id=other_key.key.id,
        conversation_id=live.id,
        ended_id=ended.id,
        visitor_id=ended.visitor_id,
        webhook_id=hook.id,
        delivery_id=delivery.id,
    )


def _path(route: Route, mine: Mine) -> str:
    platform = route.tag == "tenants" or route.path.startswith("/tenants")
    values = {
        "agent_id": mine.agent_id,
        "key_id": mine.other_key_id if platform else mine.key_id,
        "tenant_id": OTHER,
        "webhook_id": mine.webhook_id,
        "delivery_id": mine.delivery_id,
        "name": "hello" if route.tag == "canned-responses" else "sales",
        "conversation_id": mine.ended_id if route.tag == "reports" else mine.conversation_id,
        "visitor_id": mine.visitor_id,
    }
    return route.path.format(**values)


def _query(route: Route) -> dict[str, str]:
    today = datetime.now(UTC).date()
    days = {"first_day": str(today - timedelta(days=1)), "last_day": str(today)}
    return {
        "list_queue_days": days,
        "list_trigger_figures": days,
        "list_page_view_days": days,
    }.get(route.operation_id, {})


def _expected(route: Route) -> list[str]:
    if route.operation_id in OWN_ENTRY:
        return [OWN_ENTRY[route.operation_id]]
    return [] if route.method == "GET" else [route.operation_id]


def test_every_admin_endpoint_is_in_the_audit_matrix() -> None:
    for route in ADMIN_ROUTES:
        if route.has_body:
            assert route.operation_id in MY_BODIES, f"add a body for {route.operation_id}"
        names = set(route.path.replace("}", "{").split("{")[1::2])
        assert names <= set(Mine.__dataclass_fields__) | {"name", "tenant_id"}, route.path
        required = {n for n, f in route.query.model_fields.items() if f.is_required()}
        assert required <= set(_query(route)), f"teach _query {route.operation_id}"
        # A change that writes its own entry says so, so as not to be audited twice.
        if route.method != "GET":
            assert route.audited == (route.operation_id not in OWN_ENTRY), route.operation_id


@pytest.mark.parametrize("route", ADMIN_ROUTES, ids=lambda r: r.operation_id)
async def test_each_admin_change_writes_one_entry_and_a_read_none(
    api: ApiClient, keys: Keys, world: World, mine: Mine, route: Route
) -> None:
    if route.operation_id == "open_thread":
        await world.services.queue_settings.configure(
            c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, mode="messaging")
        )
    if route.operation_id == "open_thread_to_visitor":
        await mine_to_write_to(world)  # a messaging queue with its agent, identities on
    if route.operation_id == "redeliver_webhook":
        # Delivered: a pending one is being retried already, and refused.
        deliveries = world.services.webhook_deliveries
        while due := await deliveries.claim_due(100):  # one at a time per target
            for one in due:
                await deliveries.record(one.delivery, HttpResult(status=200), datetime.now(UTC))
    key = keys.admin if ApiKeyScope.ADMIN in route.scopes else keys.platform
    before = await world.services.audit.list(tenant_id=None, limit=1000)
    kwargs = {"json": MY_BODIES[route.operation_id]} if route.has_body else {}

    reply = await api.call(
        route.method, _path(route, mine), key=key, params=_query(route), **kwargs
    )

    assert 200 <= reply.status < 300, (route.operation_id, reply.status, reply.body)
    after = await world.services.audit.list(tenant_id=None, limit=1000)
    new = after[: len(after) - len(before)]
    assert [entry.action for entry in new] == _expected(route)
    for entry in new:
        assert entry.actor.startswith("apikey:")
        assert entry.tenant_id == (None if key == keys.platform else DEFAULT_TENANT)
