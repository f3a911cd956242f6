"""``/api-keys`` (a tenant admin, their own tenant) and ``/tenants/{id}/api-keys`` (the
operator, any tenant): the secret is shown once, only its hash is stored."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from data import Database
from data.models import ApiKeyRow
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import Keys


async def test_an_admin_makes_lists_and_revokes_their_tenants_keys(
    api: ApiClient, keys: Keys
) -> None:
    made = await api.post("/api-keys", keys.admin, {"scope": "read", "name": "crm"})
    assert made.status == 201
    secret = made.body.pop("key")
    assert secret.startswith(f"ce_{made.body['id']}_")
    assert made.body == {
        "id": made.body["id"],
        "tenant_id": "default",
        "scope": "read",
        "name": "crm",
        "created_at": made.body["created_at"],
        "revoked_at": None,
        "last_used_at": None,
    }
    listed = await api.all_items("/api-keys", keys.admin)
    # The fixture's three keys of this tenant and the new one; never a secret.
    assert len(listed) == 4
    assert all("key" not in k for k in listed)
    assert {k["tenant_id"] for k in listed} == {"default"}
    shown = await api.get(f"/api-keys/{made.body['id']}", keys.admin)
    assert shown.body == made.body

    assert (await api.delete(f"/api-keys/{made.body['id']}", keys.admin)).status == 204
    revoked = await api.get(f"/api-keys/{made.body['id']}", keys.admin)
    assert revoked.body["revoked_at"] is not None
    # Revoking again changes nothing.
    assert (await api.delete(f"/api-keys/{made.body['id']}", keys.admin)).status == 204
    assert (await api.get(f"/api-keys/{made.body['id']}", keys.admin)).body == revoked.body


async def test_a_tenant_admin_cannot_make_a_platform_key(api: ApiClient, keys: Keys) -> None:
    reply = await api.post("/api-keys", keys.admin, {"scope": "platform"})
    reply.problem(400, "invalid_input")


async def test_the_operator_manages_any_tenants_keys(api: ApiClient, keys: Keys) -> None:
    made = await api.post("/tenants/other/api-keys", keys.platform, {"scope": "bot"})
    assert made.status == 201
    assert made.body["tenant_id"] == "other"
    listed = await api.all_items("/tenants/other/api-keys", keys.platform)
    assert made.body["id"] in {k["id"] for k in listed}
    assert {k["tenant_id"] for k in listed} == {"other"}
    # Not through another tenant's URL.
    wrong = await api.delete(f"/tenants/default/api-keys/{made.body['id']}", keys.platform)
    wrong.problem(404, "not_found")
    right = await api.delete(f"/tenants/other/api-keys/{made.body['id']}", keys.platform)
    assert right.status == 204
    (await api.get("/tenants/nobody/api-keys", keys.platform)).problem(404, "not_found")
    (await api.post("/tenants/nobody/api-keys", keys.platform, {"scope": "read"})).problem(
        404, "not_found"
    )


async def test_only_a_hash_of_the_secret_is_stored(
    api: ApiClient, keys: Keys, database: Database
) -> None:
    made = await api.post("/api-keys", keys.admin, {"scope": "read", "name": "n"})
    whole = made.body["key"]
    secret = whole.split("_", 2)[2]
    async with database.begin() as connection:
        row = (
            await connection.execute(
                select(ApiKeyRow.__table__).where(ApiKeyRow.id == made.body["id"])
            )
        ).one()
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert not any(secret in str(value) or whole in str(value) for value in row)
