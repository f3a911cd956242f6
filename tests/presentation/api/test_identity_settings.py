"""``/identity-settings`` and the visitor's ``identity``, through a real app over SQLite
and PostgreSQL: the secret is write-only."""

from __future__ import annotations

import jwt

from business import commands as c
from business.model import DEFAULT_TENANT
from tests.harness import World
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import Keys
from tests.presentation.test_identity_socket import AUDIENCE, RSA_PEM, SECRET, claims

SETTINGS = {
    "mode": "optional",
    "audience": AUDIENCE,
    "keys": [
        {"algorithm": "HS256", "secret": SECRET},
        {"kid": "rsa-1", "algorithm": "RS256", "public_key": RSA_PEM},
    ],
}


async def test_settings_are_changed_and_read_back_without_the_secret(
    api: ApiClient, keys: Keys
) -> None:
    default = await api.get("/identity-settings", keys.admin)
    assert default.status == 200, default.body
    assert default.body == {
        "mode": "off",
        "audience": None,
        "keys": [],
        "extra_fields": {},
        "updated_at": None,
    }

    patched = await api.call("PATCH", "/identity-settings", key=keys.admin, json=SETTINGS)
    assert patched.status == 200, patched.body
    assert patched.body["mode"] == "optional"
    assert patched.body["keys"] == [
        {"kid": None, "algorithm": "HS256", "secret": "set", "public_key": None},
        {"kid": "rsa-1", "algorithm": "RS256", "secret": None, "public_key": RSA_PEM},
    ]
    again = await api.get("/identity-settings", keys.admin)
    assert again.body == patched.body
    assert SECRET not in str(again.body)

    # Only what is given changes.
    mode = await api.call("PATCH", "/identity-settings", key=keys.admin, json={"mode": "required"})
    assert mode.body["mode"] == "required"
    assert len(mode.body["keys"]) == 2


async def test_bad_settings_are_refused_naming_the_problem(api: ApiClient, keys: Keys) -> None:
    for body, words in [
        ({"mode": "required"}, "needs an audience"),
        ({"keys": [{"algorithm": "RS256", "kid": "r", "public_key": "nope"}]}, "not a PEM"),
        ({"keys": [{"algorithm": "RS256", "kid": "r", "secret": SECRET}]}, "`public_key` only"),
        ({"keys": [{"algorithm": "HS256", "secret": "short"}]}, "secret"),
        ({"keys": [{"algorithm": "none", "secret": SECRET}]}, "algorithm"),
        ({"extra_fields": {"plan": "avatar"}}, "cannot be mapped to avatar"),
        ({"extra_fields": {"plan": ""}}, "custom field names must be 1 to 100"),
        ({"extra_fields": {str(n): f"f{n}" for n in range(21)}}, "extra_fields"),
    ]:
        reply = await api.call("PATCH", "/identity-settings", key=keys.admin, json=body)
        assert words in reply.problem(400, "invalid_input"), body
    assert (await api.get("/identity-settings", keys.admin)).body["updated_at"] is None


async def test_only_admins_see_or_change_them(api: ApiClient, keys: Keys) -> None:
    (await api.get("/identity-settings", keys.read)).problem(403, "forbidden")
    reply = await api.call("PATCH", "/identity-settings", key=keys.read, json={"mode": "off"})
    reply.problem(403, "forbidden")


async def test_a_visitor_shows_their_verified_identity(
    api: ApiClient, keys: Keys, world: World
) -> None:
    await api.call("PATCH", "/identity-settings", key=keys.admin, json=SETTINGS)
    token = jwt.encode(claims(extra={"plan": "pro", "seats": 3}), SECRET, algorithm="HS256")
    session = await world.services.sessions.open_session(
        c.OpenSession(tenant_id=DEFAULT_TENANT, identity=token)
    )
    reply = await api.get(f"/visitors/{session.visitor.id}", keys.read)
    assert reply.status == 200, reply.body
    identity = reply.body["identity"]
    assert identity["sub"] == "customer-42"
    assert (identity["name"], identity["email"]) == ("Ada Lovelace", "ada@example.com")
    assert identity["extra"] == {"plan": "pro", "seats": "3"}
    assert reply.body["name"] == "Ada Lovelace"
    anonymous = await world.services.sessions.open_session(c.OpenSession(tenant_id=DEFAULT_TENANT))
    reply = await api.get(f"/visitors/{anonymous.visitor.id}", keys.read)
    assert reply.body["identity"] is None


async def test_mapped_extra_claims_are_custom_fields_of_the_visitors_chats(
    api: ApiClient, keys: Keys, world: World
) -> None:
    mapping = {"plan": "Customer plan"}
    patched = await api.call(
        "PATCH", "/identity-settings", key=keys.admin, json={**SETTINGS, "extra_fields": mapping}
    )
    assert patched.status == 200, patched.body
    assert patched.body["extra_fields"] == mapping
    assert (await api.get("/identity-settings", keys.admin)).body["extra_fields"] == mapping
    token = jwt.encode(claims(extra={"plan": "pro", "seats": 3}), SECRET, algorithm="HS256")
    session = await world.services.sessions.open_session(
        c.OpenSession(tenant_id=DEFAULT_TENANT, identity=token)
    )
    conv = await world.start(session.visitor.id, text="Hello")
    shown = await api.get(f"/conversations/{conv.id}", keys.read)
    assert shown.status == 200, shown.body
    # Mapped: a custom field under its name; unmapped (seats): on the identity only.
    assert shown.body["context"]["custom"] == {"Customer plan": "pro"}
    visitor = await api.get(f"/visitors/{session.visitor.id}", keys.read)
    assert visitor.body["identity"]["extra"] == {"plan": "pro", "seats": "3"}
    cleared = await api.call(
        "PATCH", "/identity-settings", key=keys.admin, json={"extra_fields": {}}
    )
    assert cleared.body["extra_fields"] == {}
