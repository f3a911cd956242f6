"""``/tenants`` with a platform key: a new tenant is served at once, with its queue."""

from __future__ import annotations

from business import commands as c
from business.model import TenantId
from tests.harness import World
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import Keys
from tests.presentation.conftest import VisitorFactory


async def test_the_operator_lists_and_gets_tenants(api: ApiClient, keys: Keys) -> None:
    listed = await api.get("/tenants", keys.platform)
    assert listed.status == 200
    assert [(t["id"], t["name"]) for t in listed.body["items"]] == [
        ("default", "Default"),
        ("other", "Other shop"),
    ]
    got = await api.get("/tenants/other", keys.platform)
    assert got.body == listed.body["items"][1]
    (await api.get("/tenants/nobody", keys.platform)).problem(404, "not_found")


async def test_a_new_tenant_has_the_support_queue_and_gets_its_first_key(
    api: ApiClient, keys: Keys, world: World
) -> None:
    made = await api.post("/tenants", keys.platform, {"name": "Northwind Coffee"})
    assert made.status == 201
    assert made.body["id"] == "northwind-coffee"
    assert made.body["name"] == "Northwind Coffee"
    queues = await world.services.tenants.list_queues(TenantId("northwind-coffee"))
    assert [q.name for q in queues] == ["support"]

    key = await api.post(
        "/tenants/northwind-coffee/api-keys", keys.platform, {"scope": "admin", "name": "first"}
    )
    assert key.status == 201
    assert key.body["tenant_id"] == "northwind-coffee"
    listed = await api.get("/queues", key.body["key"])
    assert [q["name"] for q in listed.body["items"]] == ["support"]


async def test_a_visitor_reaches_a_new_tenant_by_its_widget_key(
    api: ApiClient, keys: Keys, new_visitor: VisitorFactory
) -> None:
    refused = await new_visitor().refused({"tenant": "shop-2"})
    assert refused["data"]["code"] == "not_found"
    made = await api.post("/tenants", keys.platform, {"name": "Shop", "id": "shop-2"})
    assert made.status == 201
    session = await new_visitor().connect({"tenant": "shop-2"})
    assert session["config"]["tenant_name"] == "Shop"


async def test_a_taken_id_is_a_conflict(api: ApiClient, keys: Keys) -> None:
    reply = await api.post("/tenants", keys.platform, {"name": "Again", "id": "other"})
    reply.problem(409, "conflict")
    bad = await api.post("/tenants", keys.platform, {"name": "Bad", "id": "-bad-"})
    bad.problem(400, "invalid_input")


async def test_tenants_come_in_pages(api: ApiClient, keys: Keys, world: World) -> None:
    for name in ("a", "b", "c"):
        await world.services.tenants.create_tenant(c.CreateTenant(name=name))
    ids = [t["id"] for t in await api.all_items("/tenants", keys.platform, limit=2)]
    assert ids == ["a", "b", "c", "default", "other"]
