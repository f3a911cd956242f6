"""``/file-settings`` through a real app over SQLite and PostgreSQL: upload limits and
retention read and changed a piece at a time, bad values refused naming the problem,
for admins only; and the limits set here are the ones an upload meets."""

from __future__ import annotations

from business.file_model import DEFAULT_ALLOWED_TYPES, DEFAULT_MAX_BYTES
from business.model import DEFAULT_TENANT
from tests.harness import World
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import Keys


async def test_settings_are_read_and_changed_a_piece_at_a_time(
    api: ApiClient, keys: Keys, world: World
) -> None:
    default = await api.get("/file-settings", keys.admin)
    assert default.status == 200, default.body
    assert default.body == {
        "max_bytes": DEFAULT_MAX_BYTES,
        "allowed_types": list(DEFAULT_ALLOWED_TYPES),
        "retention_days": None,
    }

    patched = await api.call(
        "PATCH",
        "/file-settings",
        key=keys.admin,
        json={"allowed_types": ["image/png", "Application/PDF"], "retention_days": 30},
    )
    assert patched.status == 200, patched.body
    assert patched.body == {
        "max_bytes": DEFAULT_MAX_BYTES,
        "allowed_types": ["application/pdf", "image/png"],
        "retention_days": 30,
    }
    smaller = await api.call("PATCH", "/file-settings", key=keys.admin, json={"max_bytes": 5000})
    assert smaller.body == patched.body | {"max_bytes": 5000}
    assert (await api.get("/file-settings", keys.admin)).body == smaller.body
    limits = await world.services.files.limits(DEFAULT_TENANT)
    assert (limits.max_bytes, limits.allowed_types, limits.retention_days) == (
        5000,
        ("application/pdf", "image/png"),
        30,
    )

    forever = await api.call("PATCH", "/file-settings", key=keys.admin, json={"retention_days": 0})
    assert forever.body["retention_days"] is None
    # The other tenant's are its own.
    assert (await api.get("/file-settings", keys.other_admin)).body == default.body


async def test_bad_settings_are_refused_naming_the_problem(api: ApiClient, keys: Keys) -> None:
    for body, words in [
        ({"max_bytes": 0}, "max_bytes"),
        ({"max_bytes": "10"}, "max_bytes"),
        ({"allowed_types": ["image/svg+xml"]}, "'image/svg+xml' is not an allowed media type"),
        ({"allowed_types": ["not a type"]}, "'not a type' is not an allowed media type"),
        ({"retention_days": -1}, "retention_days"),
        ({"retention_days": 100_000}, "retention_days"),
        ({"keep": "for ever"}, "keep"),
    ]:
        reply = await api.call("PATCH", "/file-settings", key=keys.admin, json=body)
        assert words in reply.problem(400, "invalid_input"), body
    assert (await api.get("/file-settings", keys.admin)).body["retention_days"] is None


async def test_only_admins_see_or_change_them(api: ApiClient, keys: Keys) -> None:
    (await api.get("/file-settings", keys.read)).problem(403, "forbidden")
    (await api.get("/file-settings", keys.bot)).problem(403, "forbidden")
    reply = await api.call("PATCH", "/file-settings", key=keys.read, json={"retention_days": 1})
    reply.problem(403, "forbidden")
