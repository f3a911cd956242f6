"""Fixtures of the REST API tests: a real app on loopback over SQLite and PostgreSQL
(``tests.presentation.conftest``), keys of every scope for two tenants, and a client."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from business import commands as c
from business.model import DEFAULT_TENANT, ApiKeyScope, TenantId
from tests.harness import World
from tests.presentation.api.client import ApiClient
from tests.presentation.conftest import Server

OTHER = TenantId("other")


@dataclass(frozen=True, kw_only=True)
class Keys:
    """Keys of the default tenant, of tenant ``other`` and the operator's."""

    admin: str
    read: str
    bot: str
    other_admin: str
    other_read: str
    platform: str


async def make_key(world: World, scope: ApiKeyScope, tenant: TenantId | None) -> str:
    created = await world.services.api_keys.create(
        c.CreateApiKey(scope=scope, tenant_id=tenant, name=f"{scope.value} key")
    )
    return created.secret


@pytest.fixture
async def keys(world: World) -> Keys:
    return Keys(
        admin=await make_key(world, ApiKeyScope.ADMIN, DEFAULT_TENANT),
        read=await make_key(world, ApiKeyScope.READ, DEFAULT_TENANT),
        bot=await make_key(world, ApiKeyScope.BOT, DEFAULT_TENANT),
        other_admin=await make_key(world, ApiKeyScope.ADMIN, OTHER),
        other_read=await make_key(world, ApiKeyScope.READ, OTHER),
        platform=await make_key(world, ApiKeyScope.PLATFORM, None),
    )


@pytest.fixture
async def api(server: Server) -> AsyncIterator[ApiClient]:
    async with aiohttp.ClientSession() as http:
        yield ApiClient(f"{server.url}/api/v1", http)


_API_DOCS = Path(__file__).resolve().parents[3] / "presentation" / "api_docs"


@pytest.fixture(scope="session")
def api_docs_dist() -> Path:
    """Builds presentation/api_docs once per run (installing swagger-ui-dist if needed)."""
    npm = shutil.which("npm")
    if npm is None:
        if os.environ.get("CI") == "true":
            pytest.fail("npm is required to build the API docs page")
        pytest.skip("npm is not installed, so the API docs page cannot be built")
    if not (_API_DOCS / "node_modules").is_dir():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=_API_DOCS, check=True
        )
    subprocess.run([npm, "run", "--silent", "build"], cwd=_API_DOCS, check=True)
    dist = _API_DOCS / "dist"
    assert (dist / "swagger-ui-bundle.js").is_file()
    return dist
