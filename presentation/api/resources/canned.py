"""``/canned-responses``: prepared answers agents send by name (``!canned``).

Through the same use cases as ``chat-engine canned add|list|remove``
(``CannedService``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from business import commands as c
from business.model import CannedResponse, QueueName as QueueNameValue
from business.rich import parse_rich, rich_to_json
from presentation.api.fields import QueueName, Word
from presentation.api.pagination import Page, PageQuery, page_of
from presentation.api.registry import (
    ADMINS,
    READERS,
    Body,
    Call,
    Empty,
    NoContent,
    Params,
    Resource,
)

resource = Resource(
    "canned-responses",
    "Canned responses: prepared answers agents send by name. `{visitor}`, `{agent}` and "
    "`{queue}` in the text are filled in when it is sent.",
)


class CannedOut(BaseModel):
    name: str
    queue: str | None = Field(description="the queue whose agents use it; null: every queue")
    text: str
    created_at: datetime
    rich: dict[str, Any] | None = Field(
        None, description="rich content sent under the text (see the integrator guide)"
    )


class CannedPage(Page[CannedOut]):
    pass


class CannedCreate(Body):
    name: Word = Field(description="a lower-case word, e.g. `greeting`")
    text: str = Field(min_length=1, description="e.g. `Hello {visitor}, I am {agent}.`")
    queue: QueueName | None = Field(default=None, description="null or left out: every queue")
    rich: dict[str, Any] | None = Field(
        default=None,
        description="rich content to send under the text: exactly one of `quick_replies`, "
        "`buttons`, `card`, `carousel` or `list_picker` (see the integrator guide)",
    )


class CannedListQuery(PageQuery):
    queue: QueueName | None = Field(
        None,
        description="what this queue's agents get: its own responses and those for every "
        "queue it has none of the same name of; left out: every response",
    )


class CannedPath(Params):
    name: Word


class CannedQuery(Params):
    queue: QueueName | None = Field(
        None, description="the queue it belongs to; left out: the one for every queue"
    )


def canned_out(response: CannedResponse) -> CannedOut:
    return CannedOut(
        name=response.name,
        queue=response.queue,
        text=response.text,
        created_at=response.created_at,
        rich=None if response.rich is None else rich_to_json(response.rich),
    )


def _queue(value: str | None) -> QueueNameValue | None:
    return None if value is None else QueueNameValue(value)


@resource.route(
    "GET",
    "/canned-responses",
    summary="List canned responses",
    scopes=READERS,
    params=Empty,
    query=CannedListQuery,
    body=Empty,
    response=CannedPage,
)
async def list_canned_responses(call: Call[Empty, CannedListQuery, Empty]) -> CannedPage:
    """Those for every queue first, then by queue, then by name."""
    found = await call.services.canned.list(call.tenant_id, _queue(call.query.queue))
    items, cursor = page_of(found, lambda r: (r.queue or "", r.name), call.query, 2)
    return CannedPage(items=[canned_out(r) for r in items], next_cursor=cursor)


@resource.route(
    "POST",
    "/canned-responses",
    summary="Add a canned response",
    scopes=ADMINS,
    params=Empty,
    query=Empty,
    body=CannedCreate,
    response=CannedOut,
    status=201,
)
async def create_canned_response(call: Call[Empty, Empty, CannedCreate]) -> CannedOut:
    """A response of the same name in the same place (the queue, or every queue) gets
    the new text; the queue must exist."""
    body = call.body
    response = await call.services.canned.add(
        c.AddCannedResponse(
            tenant_id=call.tenant_id,
            queue=_queue(body.queue),
            name=body.name,
            text=body.text,
            rich=None if body.rich is None else parse_rich(body.rich),
        )
    )
    return canned_out(response)


@resource.route(
    "DELETE",
    "/canned-responses/{name}",
    summary="Remove a canned response",
    scopes=ADMINS,
    params=CannedPath,
    query=CannedQuery,
    body=Empty,
    response=NoContent,
    status=204,
)
async def remove_canned_response(call: Call[CannedPath, CannedQuery, Empty]) -> NoContent:
    """Exactly the one named: the one for every queue is not removed by naming a queue,
    nor the other way round."""
    await call.services.canned.remove(
        c.RemoveCannedResponse(
            tenant_id=call.tenant_id, queue=_queue(call.query.queue), name=call.params.name
        )
    )
    return NoContent()
