"""``/tenants``: the tenants one engine serves (platform keys only)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from business import commands as c
from business.model import Tenant, TenantId as TenantIdValue
from presentation.api.fields import TenantId
from presentation.api.pagination import Page, PageQuery, decode_cursor, fetched_page
from presentation.api.registry import OPERATORS, Body, Call, Empty, Params, Resource

resource = Resource(
    "tenants",
    "The tenants one engine serves, each with its own queues, agents, keys and widget "
    "key. Platform keys only.",
)


class TenantOut(BaseModel):
    id: TenantId
    name: str
    created_at: datetime


class TenantPage(Page[TenantOut]):
    pass


class TenantCreate(Body):
    name: str = Field(min_length=1, max_length=100, description="what people call it")
    id: TenantId | None = Field(
        None,
        description="its slug; left out: made from the name (`Northwind Coffee` -> "
        "`northwind-coffee`)",
    )


class TenantPath(Params):
    tenant_id: TenantId


def tenant_out(tenant: Tenant) -> TenantOut:
    return TenantOut(id=tenant.id, name=tenant.name, created_at=tenant.created_at)


@resource.route(
    "GET",
    "/tenants",
    summary="List tenants",
    scopes=OPERATORS,
    params=Empty,
    query=PageQuery,
    body=Empty,
    response=TenantPage,
)
async def list_tenants(call: Call[Empty, PageQuery, Empty]) -> TenantPage:
    """By id."""
    after = decode_cursor(call.query.cursor, 1)
    found = await call.services.tenants.list_tenants(
        after=None if after is None else TenantIdValue(after[0]), limit=call.query.limit + 1
    )
    items, cursor = fetched_page(found, lambda t: (t.id,), call.query.limit)
    return TenantPage(items=[tenant_out(t) for t in items], next_cursor=cursor)


@resource.route(
    "POST",
    "/tenants",
    summary="Create a tenant",
    scopes=OPERATORS,
    params=Empty,
    query=Empty,
    body=TenantCreate,
    response=TenantOut,
    status=201,
    errors=(409,),
)
async def create_tenant(call: Call[Empty, Empty, TenantCreate]) -> TenantOut:
    """A new tenant with the queue `support`. Its id is also its widget key
    (`data-tenant`); next, give it an admin key: `POST /tenants/{tenant_id}/api-keys`."""
    body = call.body
    tenant = await call.services.tenants.create_tenant(
        c.CreateTenant(
            name=body.name, tenant_id=None if body.id is None else TenantIdValue(body.id)
        )
    )
    return tenant_out(tenant)


@resource.route(
    "GET",
    "/tenants/{tenant_id}",
    summary="Get a tenant",
    scopes=OPERATORS,
    params=TenantPath,
    query=Empty,
    body=Empty,
    response=TenantOut,
)
async def get_tenant(call: Call[TenantPath, Empty, Empty]) -> TenantOut:
    tenant = await call.services.tenants.get_tenant(TenantIdValue(call.params.tenant_id))
    return tenant_out(tenant)
