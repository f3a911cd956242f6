"""``/webhooks`` and ``/webhook-deliveries``: subscribe, read, change, rotate, delete, the
delivery log and a redelivery, through a real app over SQLite and PostgreSQL."""

from __future__ import annotations

from business import commands as c
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT
from business.webhook_model import DeliveryStatus
from tests.harness import World
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import Keys

# A public address literal: accepted without resolving anything (nothing listens there;
# the test app runs no dispatcher, so nothing is sent to it either).
TARGET = "https://93.184.216.34/hooks"


async def _a_conversation(world: World) -> None:
    visitor = await world.visitor()
    await world.conversations.start_conversation(
        c.StartConversation(visitor_id=visitor, queue=DEFAULT_QUEUE)
    )


async def test_subscribe_read_change_and_delete(api: ApiClient, keys: Keys) -> None:
    made = await api.post(
        "/webhooks",
        keys.admin,
        {"url": TARGET, "event_types": ["message.created"], "description": "CRM"},
    )
    assert made.status == 201, made.body
    hook = made.body
    assert hook["secret"].startswith("whsec_")
    assert (hook["url"], hook["event_types"], hook["enabled"]) == (
        TARGET,
        ["message.created"],
        True,
    )
    got = await api.get(f"/webhooks/{hook['id']}", keys.read)
    assert got.status == 200
    assert "secret" not in got.body
    assert got.body["description"] == "CRM"
    listed = await api.get("/webhooks", keys.read)
    assert [h["id"] for h in listed.body["items"]] == [hook["id"]]

    changed = await api.patch(f"/webhooks/{hook['id']}", keys.admin, {"enabled": False})
    assert (changed.status, changed.body["enabled"]) == (200, False)
    assert changed.body["event_types"] == ["message.created"]

    rotated = await api.post(f"/webhooks/{hook['id']}/rotate-secret", keys.admin, {})
    assert rotated.status == 200
    assert rotated.body["secret"].startswith("whsec_")
    assert rotated.body["secret"] != hook["secret"]
    assert rotated.body["previous_secret_until"] is not None

    gone = await api.delete(f"/webhooks/{hook['id']}", keys.admin)
    assert gone.status == 204
    (await api.get(f"/webhooks/{hook['id']}", keys.read)).problem(404, "not_found")


async def test_bad_subscriptions_are_refused(api: ApiClient, keys: Keys) -> None:
    for body in (
        {"url": "https://127.0.0.1/hook"},  # the operator's own machine
        {"url": "ftp://93.184.216.34/hook"},
        {"url": TARGET, "event_types": ["no.such.type"]},
    ):
        (await api.post("/webhooks", keys.admin, body)).problem(400, "invalid_input")
    (await api.post("/webhooks", keys.read, {"url": TARGET})).problem(403, "forbidden")
    (await api.get("/webhooks", None)).problem(401, "unauthenticated")
    assert (await api.get("/webhooks", keys.admin)).body["items"] == []


async def test_the_delivery_log_shows_the_signed_body_and_a_redelivery(
    api: ApiClient, keys: Keys, world: World
) -> None:
    made = await api.post(
        "/webhooks", keys.admin, {"url": TARGET, "event_types": ["conversation.state_changed"]}
    )
    hook = made.body
    await _a_conversation(world)

    log = await api.get(f"/webhooks/{hook['id']}/deliveries", keys.read)
    assert log.status == 200, log.body
    (delivery,) = log.body["items"]
    assert (delivery["event_type"], delivery["status"], delivery["webhook_id"]) == (
        "conversation.state_changed",
        "pending",
        hook["id"],
    )
    one = await api.get(f"/webhook-deliveries/{delivery['id']}", keys.read)
    assert one.status == 200
    assert '"type":"conversation.state_changed"' in one.body["body"].replace(" ", "")
    assert one.body["attempt_log"] == []

    # A pending delivery is being retried already: no redelivery.
    (await api.post(f"/webhook-deliveries/{delivery['id']}/redeliver", keys.admin, None)).problem(
        409, "conflict"
    )
    pending = await api.get(
        f"/webhooks/{hook['id']}/deliveries", keys.read, params={"status": "delivered"}
    )
    assert pending.body["items"] == []
    found = await world.services.webhooks.list_deliveries(
        DEFAULT_TENANT, status=DeliveryStatus.PENDING
    )
    assert [d.id for d in found] == [delivery["id"]]
