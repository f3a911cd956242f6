"""Tenant by field: every REST field that names a thing — an id, a queue, an address, a
file, a cursor — given another tenant's, on SQLite and PostgreSQL.

``test_tenant_matrix`` covers the visitor events and routes, and
``api/test_isolation`` the REST endpoints with another tenant's ids in their path. Here
the ids travel in the query and the body. The fields are found in the OpenAPI document
the server serves: each parameter or body field (at any depth) whose name says it
names something. Tenant A's admin key sends each request (in JSON, and in every other
representation the document lists, such as CSV) with tenant B's value in that one field,
and again with a value nobody has. The answer must be the one for nobody's value (the
same status, code and detail, but for the value itself): refused (4xx), or a list with
nothing in it, or — where the value is a name in A's own namespace (a queue's, a canned
response's) — A's own new thing. A cursor B was given pages through A's own list only.
Nothing of B's may show in any answer, and B's own key reads B's state back unchanged
after each operation's probes. (``test_tenant_named_in_request``: no request names its
tenant.)

A new field that names something, without a case here (or a reason in ``LOCAL``),
fails ``test_every_id_field_has_a_case``.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import aiohttp
import pytest

from presentation.api import API_VERSION
from presentation.api.media import JSON
from presentation.api.openapi import build_document
from presentation.api.pagination import encode_cursor
from presentation.api.resources import RESOURCES
from tests.harness import World
from tests.presentation.api.client import ApiClient, Reply
from tests.presentation.conftest import Server
from tests.presentation.openapi_fields import Json, Operation, id_fields, operations
from tests.presentation.tenant_requests import request_path, send, their_cursor
from tests.presentation.tenant_scene import (
    B_ADDRESS,
    B_CANNED,
    B_EXTERNAL_ID,
    B_FREE_ADDRESS,
    B_MSG_ID,
    B_PROVIDER_MESSAGE_ID,
    B_QUEUE,
    SECRETS,
    Mine,
    Theirs,
    make_mine,
    make_theirs,
    their_state,
)

# -- what each field is given, and what must come of it ----------------------------------


class Expect(Enum):
    REFUSED = "refused: a 4xx problem, as for a value nobody has"
    EMPTY = "an empty list, as for a value nobody has"
    MINE = "a name in A's own namespace: A's own thing, made or changed as for a new name"
    POSITION = "a cursor is a position: a page of A's own list, nothing of B's"
    TAKEN = "an XMPP address is one person in every tenant: refused as taken (409)"


@dataclass(frozen=True)
class Probe:
    expect: Expect
    theirs: Callable[[Theirs], str] | None
    """B's value; None: the ``next_cursor`` B's own key gets from the same list."""
    nobody: str
    """A value of the same shape that nothing has."""


QUEUE = Probe(Expect.REFUSED, lambda t: B_QUEUE, "zz-nobody")
QUEUE_FILTER = Probe(Expect.EMPTY, lambda t: B_QUEUE, "zz-nobody")
QUEUE_NAME = Probe(Expect.MINE, lambda t: B_QUEUE, "zz-nobody")
AGENT_FILTER = Probe(Expect.EMPTY, lambda t: t.agent_id, "0" * 32)
ADDRESS = Probe(Expect.REFUSED, lambda t: B_FREE_ADDRESS, "nobody@bravo.example")
CURSOR = Probe(Expect.POSITION, None, "")

CASES: dict[tuple[str, str], tuple[Probe, ...]] = {
    ("list_conversations", "query.queue"): (QUEUE_FILTER,),
    ("list_conversations", "query.agent_id"): (AGENT_FILTER,),
    ("list_conversations", "query.visitor_id"): (
        Probe(Expect.EMPTY, lambda t: t.visitor_id, "0" * 32),
    ),
    ("list_conversations", "query.cursor"): (CURSOR,),
    ("list_visitor_conversations", "query.cursor"): (CURSOR,),
    ("list_conversation_reports", "query.queue"): (QUEUE_FILTER,),
    ("list_conversation_reports", "query.agent_id"): (AGENT_FILTER,),
    ("list_conversation_reports", "query.cursor"): (CURSOR,),
    ("list_queue_days", "query.queue"): (QUEUE_FILTER,),
    ("list_queues", "query.cursor"): (CURSOR,),
    ("list_agents", "query.cursor"): (CURSOR,),
    ("list_canned_responses", "query.cursor"): (CURSOR,),
    ("list_canned_responses", "query.queue"): (QUEUE,),
    ("remove_canned_response", "query.queue"): (QUEUE,),
    ("list_webhooks", "query.cursor"): (CURSOR,),
    # This cursor is a delivery's id, looked up (in A's deliveries only).
    ("list_webhook_deliveries", "query.cursor"): (
        Probe(Expect.REFUSED, None, encode_cursor(("msg_" + "0" * 32,))),
    ),
    ("list_api_keys", "query.cursor"): (CURSOR,),
    # A message id is the caller's own, per conversation: B's in A's chat is a new one.
    ("post_conversation_message", "body.client_msg_id"): (
        Probe(Expect.MINE, lambda t: B_MSG_ID, "zz-nobody"),
    ),
    ("post_conversation_message", "body.attachments[]"): (
        # A stored file of B's by reference: only URLs are taken.
        Probe(Expect.REFUSED, lambda t: f"file:{t.file_id}/bravo-manual.pdf", "file:" + "0" * 32),
        # B's signed link: a URL like any other, kept as given (never B's file made A's).
        Probe(Expect.MINE, lambda t: t.file_url, "https://93.184.216.35/nobody.pdf"),
    ),
    ("transfer_conversation", "body.queue"): (QUEUE,),
    ("transfer_conversation", "body.agent_address"): (ADDRESS,),
    ("open_thread", "body.agent_address"): (ADDRESS,),
    ("open_thread_to_visitor", "body.agent_address"): (ADDRESS,),
    ("open_thread_to_visitor", "body.queue"): (QUEUE,),
    ("open_thread_to_visitor", "body.visitor_id"): (
        Probe(Expect.REFUSED, lambda t: t.visitor_id, "0" * 32),
    ),
    ("post_api_channel_message", "body.queue"): (QUEUE,),
    ("post_api_channel_message", "body.external_id"): (
        Probe(Expect.MINE, lambda t: B_EXTERNAL_ID, "+15550999"),
    ),
    ("post_api_channel_message", "body.provider_message_id"): (
        Probe(Expect.MINE, lambda t: B_PROVIDER_MESSAGE_ID, "SM-nobody"),
    ),
    ("create_queue", "body.name"): (QUEUE_NAME,),
    ("create_agent", "body.address"): (
        Probe(Expect.TAKEN, lambda t: B_ADDRESS, "nobody@b.example"),
    ),
    ("create_agent", "body.queues[]"): (QUEUE_NAME,),
    ("create_agent", "body.supervises[]"): (QUEUE_NAME,),
    ("update_agent", "body.queues[]"): (QUEUE_NAME,),
    ("update_agent", "body.supervises[]"): (QUEUE_NAME,),
    ("create_canned_response", "body.name"): (Probe(Expect.MINE, lambda t: B_CANNED, "zznobody"),),
    ("create_canned_response", "body.queue"): (QUEUE,),
    ("put_widget_config", "body.triggers[].queue"): (QUEUE_NAME,),
}

LABEL = "a label of the caller's own: stored as given, looks nothing up"
WITHIN = "an id within the same request body (an option, an item, a trigger): names nothing else"
PLATFORM = "the operator's (platform scope): spans tenants by design; a tenant's key gets 403"
LOCAL: dict[tuple[str, str], str] = {
    ("post_conversation_message", "body.sender.id"): LABEL,
    ("post_conversation_message", "body.quick_replies[].id"): WITHIN,
    ("end_conversation", "body.actor.id"): LABEL,
    ("transfer_conversation", "body.actor.id"): LABEL,
    ("create_queue", "body.bot"): "the queue's own bot settings, not a reference",
    ("create_queue", "body.bot.menu[].id"): WITHIN,
    ("update_queue", "body.bot"): "the queue's own bot settings, not a reference",
    ("update_queue", "body.bot.menu[].id"): WITHIN,
    ("create_agent", "body.name"): "the agent's display name: " + LABEL,
    ("update_agent", "body.name"): "the agent's display name: " + LABEL,
    ("post_api_channel_message", "body.name"): "the visitor's display name: " + LABEL,
    ("put_widget_config", "body.items[].id"): WITHIN,
    ("put_widget_config", "body.triggers[].id"): WITHIN,
    ("put_widget_config", "body.triggers[].action.item"): WITHIN,
    ("patch_identity_settings", "body.keys[].kid"): "the tenant's own key id, matched only "
    "against the `kid` of tokens checked for this tenant",
    ("patch_identity_settings", "body.keys[].public_key"): "the tenant's own PEM key: "
    "not a reference",
    ("create_api_key", "body.name"): LABEL,
    ("list_tenant_api_keys", "query.cursor"): PLATFORM,
    ("create_tenant_api_key", "body.name"): PLATFORM,
    ("list_tenants", "query.cursor"): PLATFORM,
    ("create_tenant", "body.name"): PLATFORM,
    ("create_tenant", "body.id"): PLATFORM,
}


def test_every_id_field_has_a_case() -> None:
    found = set(id_fields(build_document(RESOURCES, version=API_VERSION)))
    assert ("transfer_conversation", "body.agent_address") in found  # it sees them
    assert ("put_widget_config", "body.triggers[].queue") in found
    uncovered = sorted(found - set(CASES) - set(LOCAL))
    assert uncovered == [], f"add a case to CASES (or a reason to LOCAL) for {uncovered}"
    assert set(CASES).isdisjoint(LOCAL)
    stale = sorted((set(CASES) | set(LOCAL)) - found)
    assert stale == [], f"no longer in the document: {stale}"


# -- the matrix ------------------------------------------------------------------------------


@pytest.fixture
async def api(server: Server) -> AsyncIterator[ApiClient]:
    async with aiohttp.ClientSession() as http:
        yield ApiClient(f"{server.url}/api/v1", http)


def _leaks(reply: Reply, sent: str) -> list[str]:
    text = json.dumps(reply.body).replace(sent, "<sent>")
    return [secret for secret in SECRETS if secret in text]


def _answer(reply: Reply, value: str) -> Any:
    """What must be the same for B's value and nobody's: the status, and a problem's
    code and detail (with the value itself taken out), or a list's items."""
    body = reply.body
    if reply.content_type == "application/problem+json":
        return reply.status, body["code"], _without(str(body["detail"]), value)
    if isinstance(body, dict) and "items" in body:
        return reply.status, _without(json.dumps(body["items"]), value)
    if isinstance(body, str):
        return reply.status, _without(body, value)
    return (reply.status,)


def _without(text: str, value: str) -> str:
    """``text`` without ``value``, nor the key in it if it is a cursor."""
    try:
        key = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except ValueError:
        key = []
    for part in [value, *(key if isinstance(key, list) else [])]:
        if isinstance(part, str) and part:
            text = text.replace(part, "<value>")
    return text


async def test_no_field_reaches_another_tenants_things(
    api: ApiClient, world: World, server: Server
) -> None:
    async with api.http.get(server.url + "/api/v1/openapi.json") as response:
        document = await response.json()
    served = operations(document)
    probes = [
        (op, field, served[op], probe)
        for op, field in id_fields(document)
        for probe in CASES.get((op, field), ())
    ]
    assert len(probes) == sum(len(p) for p in CASES.values())
    theirs = await make_theirs(world, api)
    # A refusal leaves A as it was, so one A takes every probe that must be refused or
    # find nothing; another every probe that makes A's own things (each a success,
    # whatever the others made before).
    shared, maker = await asyncio.gather(make_mine(world), make_mine(world))
    before = await their_state(api, theirs)
    failures: list[str] = []
    for n, (op, field, operation, probe) in enumerate(probes):
        mine = maker if probe.expect is Expect.MINE else shared
        if probe.theirs is None:
            value = await their_cursor(api, operation, theirs)
        else:
            value = probe.theirs(theirs)
        for media in operation.media:
            failures += await _probe(api, operation, op, field, mine, probe, value, media)
        # B read back through B's own key after each operation's probes (and at the end).
        last_of_op = n + 1 == len(probes) or probes[n + 1][0] != op
        if not last_of_op or (operation.method == "GET" and n + 1 < len(probes)):
            continue
        if (after := await their_state(api, theirs)) != before:
            failures.append(f"{op}: B's things changed: {_changed(before, after)}")
            before = after
    assert failures == [], "\n".join(failures)


async def _probe(
    api: ApiClient,
    operation: Operation,
    op: str,
    field: str,
    mine: Mine,
    probe: Probe,
    value: str,
    media: str,
) -> list[str]:
    """B's value in ``field``, answered in ``media``: judged, and compared with the
    answer to nobody's."""
    where = f"{op} {field} ({probe.expect.name}, {media})"
    failures = []
    reply = await send(api, operation, op, field, mine, value, media)
    if leaked := _leaks(reply, value):
        failures.append(f"{where}: B's {leaked} in {reply.status} {reply.body}")
    failures += _judge(where, probe, reply)
    if probe.expect is Expect.MINE and isinstance(reply.body, dict):
        failures += _made(where, field, mine, reply.body, value)
    if probe.expect is Expect.POSITION and media == JSON:
        failures += await _positioned(api, operation, mine, reply, where)
    elif probe.expect not in (Expect.TAKEN, Expect.POSITION):
        nobody = await send(api, operation, op, field, mine, probe.nobody, media)
        if _answer(reply, value) != _answer(nobody, probe.nobody):
            failures.append(
                f"{where}: B's value answers {reply.status} {reply.body}, "
                f"nobody's {nobody.status} {nobody.body}"
            )
    return failures


def _made(where: str, field: str, mine: Mine, made: Json, value: str) -> list[str]:
    """A's own new thing is A's, and has the value as A gave it (a queue of that name,
    the link as it was sent), not B's thing under it."""
    leaf = field.rsplit(".", 1)[-1]
    name = leaf.removesuffix("[]")
    given = [value] if leaf.endswith("[]") else value
    if made.get("tenant_id", mine.tenant_id) != mine.tenant_id:
        return [f"{where}: made in tenant {made['tenant_id']}: {made}"]
    if name in made and made[name] != given:
        return [f"{where}: {name} is {made[name]!r}, not {given!r}"]
    return []


def _changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [key for key in before | after if before.get(key) != after.get(key)]


async def _positioned(
    api: ApiClient, operation: Operation, mine: Mine, reply: Reply, where: str
) -> list[str]:
    """A page after B's cursor: A's own items, as A's full list has them."""
    if reply.status != 200:
        return [f"{where}: {reply.status} {reply.body}"]
    path = request_path(operation.path, operation.tag, mine)
    own = await api.all_items(path, mine.admin, limit=100)
    strangers = [item for item in reply.body["items"] if item not in own]
    return [f"{where}: not A's: {strangers}"] if strangers else []


def _judge(where: str, probe: Probe, reply: Reply) -> list[str]:
    expect = probe.expect
    status = reply.status
    if expect is Expect.REFUSED and not (400 <= status < 500 and status != 409):
        return [f"{where}: not refused: {status} {reply.body}"]
    if expect is Expect.EMPTY:
        body = reply.body
        # A list without items; a CSV export with its header line only.
        empty = body.count("\n") <= 1 if isinstance(body, str) else body.get("items") == []
        if status != 200 or not empty:
            return [f"{where}: not empty: {status} {reply.body}"]
    if expect is Expect.POSITION and status != 200:
        return [f"{where}: {status} {reply.body}"]
    if expect is Expect.MINE and status not in (200, 201):
        return [f"{where}: A's own not made: {status} {reply.body}"]
    if expect is Expect.TAKEN and (status != 409 or reply.body["code"] != "conflict"):
        return [f"{where}: not refused as taken: {status} {reply.body}"]
    return []
