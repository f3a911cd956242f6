"""``/visitors/{id}/export`` and ``DELETE /visitors/{id}``: a visitor's data on request
(``business.visitor_data``), both audit-logged by the use case itself.

The export is one JSON document; each file is a signed link (valid as agents' links
are, ``[files] agent_url_seconds``), not its bytes: the document stays small, and the
CLI (``chat-engine visitor export``) is there for an archive with the bytes.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from business.file_model import file_ref
from business.model import VisitorId
from presentation.api.registry import ADMINS, Call, Empty, Resource
from presentation.api.resources.visitors import VisitorPath

resource = Resource("visitors", "Visitors of your tenant and their conversations.")


class VisitorExportOut(BaseModel):
    visitor: dict[str, Any] = Field(description="the visitor's stored row")
    identities: list[dict[str, Any]] = Field(description="their signed identity, if any")
    device_tokens: list[dict[str, Any]] = Field(description="hashes of their other devices")
    conversations: list[dict[str, Any]] = Field(
        description="each conversation's stored row (context, form, custom fields) with "
        "`events`: what the visitor sent and saw"
    )
    transcript_mails: list[dict[str, Any]]
    files: list[dict[str, Any]] = Field(description="each file's record and a signed `url`")
    not_included: str = Field(description="what is deliberately left out")


class ErasureOut(BaseModel):
    visitor_id: str
    counts: dict[str, int] = Field(description="what was deleted or anonymised, by kind")


@resource.route(
    "GET",
    "/visitors/{visitor_id}/export",
    summary="Export everything held about a visitor",
    scopes=ADMINS,
    params=VisitorPath,
    query=Empty,
    body=Empty,
    response=VisitorExportOut,
)
async def export_visitor(call: Call[VisitorPath, Empty, Empty]) -> VisitorExportOut:
    """For a data subject's access request. Agents' internal notes and whispers are not
    included (the company's records, not the visitor's data). Written to the audit log."""
    export = await call.services.visitor_data.export(
        call.tenant_id, VisitorId(call.params.visitor_id), actor=f"apikey:{call.key.id}"
    )
    links = {str(f.id): call.services.files.links.lasting(file_ref(f)) for f in export.record.files}
    return VisitorExportOut.model_validate(export.document(links))


@resource.route(
    "DELETE",
    "/visitors/{visitor_id}",
    summary="Erase a visitor",
    scopes=ADMINS,
    params=VisitorPath,
    query=Empty,
    body=Empty,
    response=ErasureOut,
    errors=(409,),
    audited=False,
)
async def erase_visitor(call: Call[VisitorPath, Empty, Empty]) -> ErasureOut:
    """For a data subject's erasure request; safe to repeat. `409` while the visitor has
    a conversation open (end it first). Their messages become `[erased]`; their name,
    context, form, identity, device tokens, files, offline messages, transcript mails
    and webhook deliveries go; agents' messages and notes and the statistics stay.
    Written to the audit log in the same transaction."""
    erased = await call.services.visitor_data.erase(
        call.tenant_id, VisitorId(call.params.visitor_id), actor=f"apikey:{call.key.id}"
    )
    return ErasureOut(visitor_id=erased.visitor_id, counts=dict(erased.counts))
