"""The requests of the REST tenant matrix (``test_tenant_matrix_bodies``): a valid
request of tenant A's own for each operation, with one field set to the value probed."""

from __future__ import annotations

import copy
import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from presentation.api.media import JSON
from tests.presentation.api.client import ApiClient, Reply
from tests.presentation.openapi_fields import Json, Operation
from tests.presentation.tenant_scene import B_CANNED, Mine, Theirs


def _days() -> dict[str, str]:
    today = datetime.now(UTC).date()
    return {"first_day": str(today - timedelta(days=1)), "last_day": str(today)}


_calls = itertools.count(1)


def _base(op: str, field: str, mine: Mine) -> tuple[dict[str, str], Json | None]:
    """A valid request of A's own for ``op`` (query, body), before ``field`` is set: its
    own ids new each time, so that B's value and nobody's meet the same A."""
    n = next(_calls)
    post = {"client_msg_id": f"a-{n}", "sender": {"kind": "bot", "name": "Mine"}, "text": "Mine"}
    supervisor = {"role": "supervisor"} if field.startswith("body.supervises") else {}
    bodies: dict[str, Json] = {
        "post_conversation_message": post,
        "transfer_conversation": {"note": "mine"},
        "open_thread": {"agent_address": mine.agent_address, "text": "Hello again"},
        "open_thread_to_visitor": {
            "queue": "support",
            "agent_address": mine.agent_address,
            "visitor_id": mine.visitor_id,
            "text": "Hello again",
        },
        "post_api_channel_message": {
            "queue": "support",
            "external_id": f"+1555{n:07}",
            "provider": "sms",
            "provider_message_id": f"SM-a-{n}",
            "text": "Mine",
        },
        "create_queue": {"name": "mine"},
        "create_agent": {
            "address": f"new-{n}@{mine.tenant_id}.example",
            "max_chats": 1,
            "queues": ["support"],
        }
        | supervisor,
        "update_agent": {"max_chats": 2} | supervisor,
        "create_canned_response": {"name": "mine", "text": "Mine"},
        "put_widget_config": {
            "items": [{"id": "invite", "type": "invitation", "text": "Hi"}],
            "triggers": [{"id": "t", "action": {"type": "show", "item": "invite"}}],
        },
    }
    query = {"list_queue_days": _days()}.get(op, {})
    return query, copy.deepcopy(bodies.get(op))


def request_path(template: str, tag: str, mine: Mine) -> str:
    return template.format(
        conversation_id=mine.conversation_id,
        agent_id=mine.agent_id,
        visitor_id=mine.visitor_id,
        webhook_id=mine.webhook_id,
        name=B_CANNED if tag == "canned-responses" else "support",
        # No probe reads a key or a delivery: any id does where one is in the path.
        key_id="0" * 16,
        delivery_id="msg_" + "0" * 32,
    )


def _set_field(body: Json, field: str, value: str) -> None:
    """``body.a.b`` / ``body.a[]`` (a list of the value) / ``body.a[].b`` (in the first)."""
    parts = field.split(".")[1:]
    at: Any = body
    for part in parts[:-1]:
        at = at[part.removesuffix("[]")]
        if part.endswith("[]"):
            at = at[0]
    last = parts[-1]
    at[last.removesuffix("[]")] = [value] if last.endswith("[]") else value


async def send(
    api: ApiClient,
    operation: Operation,
    op: str,
    field: str,
    mine: Mine,
    value: str,
    media: str = JSON,
) -> Reply:
    query, body = _base(op, field, mine)
    if field.startswith("query."):
        query[field.removeprefix("query.")] = value
    else:
        body = body or {}
        _set_field(body, field, value)
    kwargs: dict[str, Any] = {} if body is None else {"json": body}
    path = request_path(operation.path, operation.tag, mine)
    if media == JSON:
        return await api.call(operation.method, path, key=mine.admin, params=query, **kwargs)
    # Another representation (a CSV export): its text, as it is.
    headers = {"Authorization": f"Bearer {mine.admin}", "Accept": media}
    async with api.http.request(
        operation.method, api.base + path, params=query, headers=headers
    ) as response:
        text = await response.text()
        is_problem = response.content_type == "application/problem+json"
        return Reply(
            status=response.status,
            body=json.loads(text) if is_problem else text,
            content_type=response.content_type,
            headers=dict(response.headers),
        )


async def their_cursor(api: ApiClient, operation: Operation, theirs: Theirs) -> str:
    """The ``next_cursor`` B's own key gets from the first page (of one) of this list."""
    path = operation.path.format(
        visitor_id=theirs.visitor_id, webhook_id=(await _their_hook(api, theirs))
    )
    reply = await api.get(path, theirs.admin, params={"limit": "1"})
    assert reply.status == 200, reply.body
    cursor = reply.body["next_cursor"]
    assert isinstance(cursor, str), f"B needs two of {path} for a cursor"
    return cursor


async def _their_hook(api: ApiClient, theirs: Theirs) -> str:
    reply = await api.get("/webhooks", theirs.admin)
    return str(reply.body["items"][0]["id"])
