"""Two tenants side by side: every endpoint, called with one tenant's admin key on the
other tenant's things, is refused (404: the same answer as for nothing at all), shows
nothing of theirs and changes nothing of theirs.

The matrix is built from the registry itself: an endpoint added later without a case
here fails ``test_every_endpoint_is_in_the_matrix``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from business import commands as c
from business.api_channel import ReceiveApiMessage
from business.identity_model import IdentityKey, IdentityMode, KeyAlgorithm
from business.identity_settings import ConfigureIdentity
from business.integrator_commands import EndByIntegrator
from business.model import DEFAULT_TENANT, AgentId, ApiKeyScope, QueueName
from business.webhook_commands import CreateWebhook
from presentation.api.registry import OPERATORS, Route, all_routes
from presentation.api.resources import RESOURCES
from tests.harness import World
from tests.presentation.api.client import ApiClient, Json
from tests.presentation.api.conftest import OTHER, Keys, make_key

ROUTES = all_routes(RESOURCES)
THEIR_HOOK = "https://93.184.216.34/bravo-hidden-hook"
SHARED_ADDRESS = "+15550177"
"""A visitor's address on the API channel that both tenants have."""


@dataclass(frozen=True, kw_only=True)
class Theirs:
    """What tenant ``other`` has that the default tenant must never see."""

    queue: str
    agent_id: str
    key_id: str
    canned: str
    conversation_id: str
    """Open, with their agent: what acting on it would change shows."""
    ended_id: str
    """Ended: it has a report."""
    visitor_id: str
    webhook_id: str
    delivery_id: str
    secrets: tuple[str, ...]
    """Strings only ``other`` knows: none may appear in an answer to the default tenant
    (the ids the caller itself names may: "unknown agent 'id'")."""


MY_MESSAGING = "mine-messaging"
MY_OUTBOUND_AGENT = "outbound@alpha.example"


async def mine_to_write_to(world: World) -> None:
    """A messaging queue of the default tenant with an agent, and identities on: what
    ``POST /threads`` needs to succeed in the caller's own tenant."""
    queue = QueueName(MY_MESSAGING)
    await world.services.queues.create(c.CreateQueue(tenant_id=DEFAULT_TENANT, queue=queue))
    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=queue, mode="messaging")
    )
    await world.services.agents.add_agent(
        c.AddAgent(
            address=MY_OUTBOUND_AGENT, queues=(queue,), max_chats=2, tenant_id=DEFAULT_TENANT
        )
    )
    await world.services.identity_settings.configure(
        ConfigureIdentity(
            tenant_id=DEFAULT_TENANT,
            mode=IdentityMode.OPTIONAL,
            audience="https://mine.example",
            keys=[IdentityKey(kid=None, algorithm=KeyAlgorithm.HS256, material="m" * 32)],
        )
    )


@pytest.fixture
async def theirs(world: World) -> Theirs:
    await mine_to_write_to(world)
    services = world.services
    await services.queues.create(
        c.CreateQueue(tenant_id=OTHER, queue=QueueName("b-only"), title="Bravo hidden title")
    )
    agent = await services.agents.add_agent(
        c.AddAgent(
            address="bob@bravo.example",
            queues=(QueueName("b-only"),),
            max_chats=2,
            tenant_id=OTHER,
            name="Bob Bravo-Hidden",
        )
    )
    key = await services.api_keys.create(
        c.CreateApiKey(scope=ApiKeyScope.READ, tenant_id=OTHER, name="bravo-hidden-key")
    )
    await services.canned.add(
        c.AddCannedResponse(tenant_id=OTHER, queue=None, name="bcanned", text="Bravo hidden text")
    )
    hook = await services.webhooks.create(
        CreateWebhook(tenant_id=OTHER, url=THEIR_HOOK, description="Bravo hidden hook")
    )
    await services.agents.set_availability(c.SetAgentAvailability(agent_id=agent.id, ready=True))
    chats = []
    for text in ("Bravo hidden question", "Bravo hidden complaint"):
        visitor = await world.visitor(OTHER)
        chats.append(
            await services.conversations.start_conversation(
                c.StartConversation(
                    visitor_id=visitor,
                    queue=QueueName("b-only"),
                    form={"name": "Bravo Hidden Visitor"},
                    message=c.FirstMessage(client_msg_id="b-1", text=text),
                )
            )
        )
    await services.integrator_control.end(
        EndByIntegrator(tenant_id=OTHER, conversation_id=chats[1].id)
    )
    # Their visitor on the API channel has the address the default tenant's calls use.
    await services.api_channel.receive(
        ReceiveApiMessage(
            tenant_id=OTHER,
            queue=QueueName("b-only"),
            external_id=SHARED_ADDRESS,
            provider="sms",
            provider_message_id="SM-1",
            text="Bravo hidden text message",
            name="Bravo Hidden Texter",
        )
    )
    await services.widget_configs.put(
        OTHER,
        {
            "items": [{"id": "invite", "type": "invitation", "text": "Bravo hidden invitation"}],
            "triggers": [{"id": "bravo", "action": {"type": "show", "item": "invite"}}],
        },
    )
    (delivery, *_) = await services.webhooks.list_deliveries(OTHER)
    return Theirs(
        queue="b-only",
        webhook_id=hook.id,
        delivery_id=delivery.id,
        agent_id=agent.id,
        key_id=key.key.id,
        canned="bcanned",
        conversation_id=chats[0].id,
        ended_id=chats[1].id,
        visitor_id=chats[0].visitor_id,
        secrets=(
            "Bravo hidden title",
            "bob@bravo.example",
            "Bob Bravo-Hidden",
            "bravo-hidden-key",
            "Bravo hidden text",
            "Bravo Hidden Visitor",
            "Bravo hidden question",
            "Bravo hidden complaint",
            key.secret,
            THEIR_HOOK,
            "Bravo hidden hook",
            hook.secret,
            "Bravo hidden invitation",
            "Bravo hidden text message",
            "Bravo Hidden Texter",
        ),
    )


def _path(route: Route, theirs: Theirs) -> str:
    values = {
        "agent_id": theirs.agent_id,
        "key_id": theirs.key_id,
        "tenant_id": OTHER,
        "webhook_id": theirs.webhook_id,
        "delivery_id": theirs.delivery_id,
        "name": theirs.canned if route.tag == "canned-responses" else theirs.queue,
        "conversation_id": theirs.ended_id if route.tag == "reports" else theirs.conversation_id,
        "visitor_id": theirs.visitor_id,
    }
    return route.path.format(**values)


def _query(route: Route, theirs: Theirs) -> dict[str, str]:
    """Their things named in the query, where an endpoint takes them there; and the
    parameters it needs."""
    today = datetime.now(UTC).date()
    days = {"first_day": str(today - timedelta(days=1)), "last_day": str(today)}
    return {
        "list_conversations": {"agent_id": theirs.agent_id, "visitor_id": theirs.visitor_id},
        "list_conversation_reports": {"agent_id": theirs.agent_id},
        "list_queue_days": days | {"queue": theirs.queue},
        "list_trigger_figures": days,
        "list_page_view_days": days,
    }.get(route.operation_id, {})


BODIES: dict[str, Json] = {
    "create_queue": {"name": "mine"},
    "update_queue": {"offer_timeout": 33},
    "create_agent": {"address": "mine@alpha.example", "max_chats": 1, "queues": ["support"]},
    "update_agent": {"max_chats": 7},
    "create_canned_response": {"name": "mine", "text": "Mine"},
    "create_api_key": {"scope": "read"},
    "create_tenant": {"name": "Mine"},
    "create_tenant_api_key": {"scope": "admin"},
    "create_webhook": {"url": "https://93.184.216.35/mine"},
    "update_webhook": {"enabled": False},
    "rotate_webhook_secret": {},
    "post_conversation_message": {
        "client_msg_id": "mine-1",
        "sender": {"kind": "bot", "name": "Mine"},
        "text": "Mine",
    },
    "end_conversation": {"reason": "mine"},
    "transfer_conversation": {"queue": "support"},
    "open_thread": {"agent_address": "alice@agents.example", "text": "Hello again"},
    # A sub nobody has: a new identified visitor of mine (``_mine_to_write_to``).
    "open_thread_to_visitor": {
        "queue": MY_MESSAGING,
        "agent_address": MY_OUTBOUND_AGENT,
        "identity_sub": "mine-1",
        "text": "Hello",
    },
    "put_widget_config": {"active": False, "texts": {"title": "Mine"}},
    "patch_file_settings": {"max_bytes": 1234, "allowed_types": ["image/png"], "retention_days": 3},
    "patch_retention_settings": {"conversations_days": 3, "visitors_days": 4},
    "patch_identity_settings": {
        "mode": "optional",
        "audience": "https://mine.example",
        "keys": [{"algorithm": "HS256", "secret": "mine, and at least thirty-two bytes long"}],
    },
    "put_redaction_settings": {"emails": True, "patterns": [{"name": "mine", "regex": "M-1"}]},
    # Their visitor's address and provider, and their message id: a visitor of mine.
    "post_api_channel_message": {
        "queue": "support",
        "external_id": SHARED_ADDRESS,
        "provider": "sms",
        "provider_message_id": "SM-1",
        "text": "Mine",
    },
}


async def _their_state(api: ApiClient, world: World, their_admin: str, theirs: Theirs) -> Json:
    state = {
        path: await api.all_items(path, their_admin, limit=100)
        for path in (
            "/queues",
            "/agents",
            "/canned-responses",
            "/api-keys",
            "/webhooks",
            "/conversations",
            "/reports/conversations",
        )
    }
    for path in (
        "/widget-config",
        "/identity-settings",
        "/file-settings",
        "/redaction-settings",
        "/retention-settings",
        "/audit-log",
        f"/conversations/{theirs.conversation_id}/internal-events",
        f"/visitors/{theirs.visitor_id}",
    ):
        reply = await api.get(path, their_admin)
        assert reply.status == 200, reply.body
        state[path] = reply.body
    return state


THEIRS_SHAPE = Theirs(
    queue="q",
    agent_id="a",
    key_id="k",
    canned="c",
    conversation_id="c",
    ended_id="e",
    visitor_id="v",
    webhook_id="w",
    delivery_id="d",
    secrets=(),
)


def test_every_endpoint_is_in_the_matrix() -> None:
    for route in ROUTES:
        if route.has_body:
            assert route.operation_id in BODIES, f"add a body for {route.operation_id}"
        assert set(route.path.replace("}", "{").split("{")[1::2]) <= {
            "agent_id",
            "key_id",
            "tenant_id",
            "name",
            "conversation_id",
            "visitor_id",
            "webhook_id",
            "delivery_id",
        }, f"teach _path the parameters of {route.path}"
        required = {name for name, field in route.query.model_fields.items() if field.is_required()}
        assert required <= set(_query(route, THEIRS_SHAPE)), f"teach _query {route.operation_id}"


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.operation_id)
async def test_one_tenant_cannot_reach_anothers_things(
    api: ApiClient, keys: Keys, world: World, theirs: Theirs, route: Route
) -> None:
    their_admin = await make_key(world, ApiKeyScope.ADMIN, OTHER)
    before = await _their_state(api, world, their_admin, theirs)
    kwargs = {"json": BODIES[route.operation_id]} if route.has_body else {}
    reply = await api.call(
        route.method,
        _path(route, theirs),
        key=keys.admin,
        params=_query(route, theirs),
        **kwargs,
    )

    if route.scopes == OPERATORS:
        reply.problem(403, "forbidden")
    elif "{" in route.path:
        reply.problem(404, "not_found")
    else:
        # A list or a creation: it is about the caller's own tenant only.
        assert reply.status in (200, 201), reply.body
    text = json.dumps(reply.body)
    for secret in theirs.secrets:
        assert secret not in text, (route.operation_id, secret)
    if reply.status == 200 and "items" in reply.body:
        mine = [item.get("tenant_id", "default") for item in reply.body["items"]]
        assert set(mine) <= {"default"}
        # Lists filtered by their things find nothing of them.
        if _query(route, theirs):
            assert reply.body["items"] == [], route.operation_id
    # (Reading it records their key's last use once, before ``before``: within a minute
    # it is not written again, so the two readings compare equal.)
    assert await _their_state(api, world, their_admin, theirs) == before


async def test_their_agent_is_the_same_after_my_calls_on_it(
    api: ApiClient, keys: Keys, world: World, theirs: Theirs
) -> None:
    agent = await world.services.agents.get_agent(AgentId(theirs.agent_id))
    assert agent is not None
    assert agent.tenant_id == OTHER
    for method in ("GET", "PATCH", "DELETE"):
        kwargs = {"json": {"max_chats": 9}} if method == "PATCH" else {}
        reply = await api.call(method, f"/agents/{theirs.agent_id}", key=keys.admin, **kwargs)  # type: ignore[arg-type]
        reply.problem(404, "not_found")
    assert await world.services.agents.get_agent(AgentId(theirs.agent_id)) == agent


async def test_their_queue_and_their_api_visitor_are_not_mine(
    api: ApiClient, keys: Keys, world: World, theirs: Theirs
) -> None:
    their_admin = await make_key(world, ApiKeyScope.ADMIN, OTHER)
    before = await _their_state(api, world, their_admin, theirs)
    message = dict(BODIES["post_api_channel_message"])

    reply = await api.post("/channels/api/messages", keys.admin, json=message | {"queue": "b-only"})
    reply.problem(404, "not_found")
    # Their address and message id, in my tenant: a new visitor and conversation of mine,
    # not a retry of theirs.
    reply = await api.post("/channels/api/messages", keys.admin, json=message)
    assert reply.status == 201, reply.body
    assert reply.body["conversation"]["queue"] == "support"
    assert reply.body["conversation"]["visitor"]["name"] != "Bravo Hidden Texter"
    assert reply.body["message"]["text"] == "Mine"
    assert await _their_state(api, world, their_admin, theirs) == before
