"""``/api-keys``: a tenant admin's keys of their own tenant, and
``/tenants/{tenant_id}/api-keys``: any tenant's keys, for platform keys.

Platform keys themselves are made and revoked with the CLI only (``chat-engine apikey``):
whoever holds one can already do everything over the API but that.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from business import commands as c
from business.api_keys import CreatedApiKey
from business.model import ApiKey, ApiKeyId, ApiKeyScope, TenantId as TenantIdValue
from business.services import Services
from presentation.api.fields import TenantId
from presentation.api.pagination import Page, PageQuery, decode_cursor, fetched_page
from presentation.api.registry import (
    ADMINS,
    OPERATORS,
    Body,
    Call,
    Empty,
    NoContent,
    Params,
    Resource,
)

resource = Resource(
    "api-keys",
    "API keys of a tenant. A key's secret is shown once, when it is made; only a hash of "
    "it is stored.",
)

KEY_ID_PATTERN = r"^[0-9a-f]{16}$"


class ApiKeyOut(BaseModel):
    id: str = Field(description="the public part of the key (`ce_<id>_…`)")
    tenant_id: str | None = Field(description="null for a platform key")
    scope: ApiKeyScope
    name: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None = Field(description="roughly: to the minute")


class CreatedApiKeyOut(ApiKeyOut):
    key: str = Field(description="the key to present: shown this once, never again")


class ApiKeyPage(Page[ApiKeyOut]):
    pass


class ApiKeyCreate(Body):
    scope: Literal["admin", "read", "bot"] = Field(
        description="`admin`: everything in the tenant; `read`: GET only; `bot`: a bot's "
        "conversations"
    )
    name: str = Field(default="", max_length=100, description="to tell keys apart, e.g. `crm-sync`")


class KeyPath(Params):
    key_id: str = Field(pattern=KEY_ID_PATTERN)


class TenantPath(Params):
    tenant_id: TenantId


class TenantKeyPath(Params):
    tenant_id: TenantId
    key_id: str = Field(pattern=KEY_ID_PATTERN)


def key_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=key.id,
        tenant_id=key.tenant_id,
        scope=key.scope,
        name=key.name,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
        last_used_at=key.last_used_at,
    )


def _created(created: CreatedApiKey) -> CreatedApiKeyOut:
    return CreatedApiKeyOut(**key_out(created.key).model_dump(), key=created.secret)


async def _page(services: Services, tenant_id: TenantIdValue, query: PageQuery) -> ApiKeyPage:
    after = decode_cursor(query.cursor, 1)
    found = await services.api_keys.list(
        tenant_id, after=None if after is None else ApiKeyId(after[0]), limit=query.limit + 1
    )
    items, cursor = fetched_page(found, lambda k: (k.id,), query.limit)
    return ApiKeyPage(items=[key_out(k) for k in items], next_cursor=cursor)


async def _create(
    services: Services, tenant_id: TenantIdValue, body: ApiKeyCreate
) -> CreatedApiKeyOut:
    created = await services.api_keys.create(
        c.CreateApiKey(scope=ApiKeyScope(body.scope), tenant_id=tenant_id, name=body.name)
    )
    return _created(created)


# -- a tenant's own keys ------------------------------------------------------------------


@resource.route(
    "GET",
    "/api-keys",
    summary="List your tenant's keys",
    scopes=ADMINS,
    params=Empty,
    query=PageQuery,
    body=Empty,
    response=ApiKeyPage,
)
async def list_api_keys(call: Call[Empty, PageQuery, Empty]) -> ApiKeyPage:
    """Revoked keys too (with `revoked_at`), by id."""
    return await _page(call.services, call.tenant_id, call.query)


@resource.route(
    "POST",
    "/api-keys",
    summary="Make a key for your tenant",
    scopes=ADMINS,
    params=Empty,
    query=Empty,
    body=ApiKeyCreate,
    response=CreatedApiKeyOut,
    status=201,
)
async def create_api_key(call: Call[Empty, Empty, ApiKeyCreate]) -> CreatedApiKeyOut:
    """The answer holds the whole key in `key`: keep it, it is never shown again."""
    return await _create(call.services, call.tenant_id, call.body)


@resource.route(
    "GET",
    "/api-keys/{key_id}",
    summary="Get one of your tenant's keys",
    scopes=ADMINS,
    params=KeyPath,
    query=Empty,
    body=Empty,
    response=ApiKeyOut,
)
async def get_api_key(call: Call[KeyPath, Empty, Empty]) -> ApiKeyOut:
    key = await call.services.api_keys.get(ApiKeyId(call.params.key_id), tenant_id=call.tenant_id)
    return key_out(key)


@resource.route(
    "DELETE",
    "/api-keys/{key_id}",
    summary="Revoke one of your tenant's keys",
    scopes=ADMINS,
    params=KeyPath,
    query=Empty,
    body=Empty,
    response=NoContent,
    status=204,
)
async def revoke_api_key(call: Call[KeyPath, Empty, Empty]) -> NoContent:
    """For good; revoking a revoked key again changes nothing. The key in use may
    revoke itself."""
    await call.services.api_keys.revoke(
        c.RevokeApiKey(key_id=ApiKeyId(call.params.key_id), tenant_id=call.tenant_id)
    )
    return NoContent()


# -- any tenant's keys, for the operator ------------------------------------------------


@resource.route(
    "GET",
    "/tenants/{tenant_id}/api-keys",
    summary="List a tenant's keys",
    scopes=OPERATORS,
    params=TenantPath,
    query=PageQuery,
    body=Empty,
    response=ApiKeyPage,
)
async def list_tenant_api_keys(call: Call[TenantPath, PageQuery, Empty]) -> ApiKeyPage:
    tenant = await call.services.tenants.get_tenant(TenantIdValue(call.params.tenant_id))
    return await _page(call.services, tenant.id, call.query)


@resource.route(
    "POST",
    "/tenants/{tenant_id}/api-keys",
    summary="Make a key for a tenant",
    scopes=OPERATORS,
    params=TenantPath,
    query=Empty,
    body=ApiKeyCreate,
    response=CreatedApiKeyOut,
    status=201,
)
async def create_tenant_api_key(
    call: Call[TenantPath, Empty, ApiKeyCreate],
) -> CreatedApiKeyOut:
    """How a new tenant gets its first admin key."""
    return await _create(call.services, TenantIdValue(call.params.tenant_id), call.body)


@resource.route(
    "DELETE",
    "/tenants/{tenant_id}/api-keys/{key_id}",
    summary="Revoke a tenant's key",
    scopes=OPERATORS,
    params=TenantKeyPath,
    query=Empty,
    body=Empty,
    response=NoContent,
    status=204,
)
async def revoke_tenant_api_key(call: Call[TenantKeyPath, Empty, Empty]) -> NoContent:
    await call.services.api_keys.revoke(
        c.RevokeApiKey(
            key_id=ApiKeyId(call.params.key_id), tenant_id=TenantIdValue(call.params.tenant_id)
        )
    )
    return NoContent()
