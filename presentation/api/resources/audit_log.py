"""``/audit-log``: the tenant's administrators' actions, newest first
(``business.audit``). Read-only: the log has no way to change or delete an entry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from business.audit import MAX_LIST
from presentation.api.registry import ADMINS, Call, Empty, Params, Resource

resource = Resource(
    "audit-log",
    "Every change made with an admin key or the command line, and every visitor export "
    "and erasure: who, what, on what, when.",
)


class AuditQuery(Params):
    since: datetime | None = Field(None, description="only entries at or after this time")
    limit: int = Field(100, ge=1, le=MAX_LIST)


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str = Field(description="`apikey:<key id>` or `cli:<unix user>`")
    action: str
    target: str | None
    detail: dict[str, Any] = Field(description="which fields were given; never their values")


class AuditLogOut(BaseModel):
    entries: list[AuditEntryOut]


@resource.route(
    "GET",
    "/audit-log",
    summary="Read the audit log",
    scopes=ADMINS,
    params=Empty,
    query=AuditQuery,
    body=Empty,
    response=AuditLogOut,
)
async def get_audit_log(call: Call[Empty, AuditQuery, Empty]) -> AuditLogOut:
    """The tenant's entries, newest first."""
    entries = await call.services.audit.list(
        tenant_id=call.tenant_id, since=call.query.since, limit=call.query.limit
    )
    return AuditLogOut(
        entries=[
            AuditEntryOut(
                id=e.id or 0,
                at=e.at,
                actor=e.actor,
                action=e.action,
                target=e.target,
                detail=dict(e.detail),
            )
            for e in entries
        ]
    )
