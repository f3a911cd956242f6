"""Schemathesis against the live document: every operation, with generated valid and
invalid requests (a bounded number of each), answers no server error, only statuses and
content types it declares, and bodies that conform to its schemas; invalid requests are
refused.

The engine runs in a thread of its own with its own event loop (Schemathesis calls it
synchronously), over SQLite and PostgreSQL, with an admin key for the tenant's
endpoints and a platform key for the operator's. Generated requests name a real
conversation and visitor where a path takes one (an ended conversation for a report),
so that the answers checked against the schemas are real ones, not only 404s.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, Phase, assume, given, settings
from schemathesis import APIOperation, Response
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import ChecksConfig
from schemathesis.core.result import Ok

from business import commands as c
from business.clock import SystemClock
from business.integrator_commands import EndByIntegrator
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, AgentId, ApiKeyScope
from presentation import WebSettings, create_app
from tests.conftest import BACKENDS, open_database
from tests.harness import World, make_world
from tests.presentation.api.conftest import OTHER, make_key

EXAMPLES = 8
"""Generated requests per operation and mode: enough to reach every field's edge cases
over the runs, few enough to keep this test to seconds."""

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass(frozen=True, kw_only=True)
class LiveApi:
    url: str
    admin: str
    platform: str
    ids: dict[str, str]
    """Path parameters of things that exist: ``conversation_id``, ``visitor_id`` and
    ``report`` (an ended conversation)."""


async def _seed(world: World) -> dict[str, str]:
    """A chat Alice answered, with a note, and an ended one with its report."""
    alice = AgentId("alice-id")
    await world.agent(alice, address="alice@agents.example", name="Alice", max_chats=5)
    chats = []
    for n in range(2):
        conv = await world.start(await world.visitor(), f"Hello {n}", form={"name": "Vera"})
        await world.agent_says(alice, conv.id, "Hi Vera")
        chats.append(conv)
    await world.services.notes.add_note(
        c.AddNote(agent_id=alice, conversation_id=chats[0].id, text="a note")
    )
    await world.services.integrator_control.end(
        EndByIntegrator(tenant_id=DEFAULT_TENANT, conversation_id=chats[1].id)
    )
    return {
        "conversation_id": chats[0].id,
        "visitor_id": chats[0].visitor_id,
        "report": chats[1].id,
    }


def _serve(backend: str, tmp_path: Path, ready: threading.Event, found: dict[str, object]) -> None:
    async def main() -> None:
        async with open_database(backend, tmp_path) as database:
            world = await make_world(
                uow=database.unit_of_work,
                clock=SystemClock(),
                queues=(DEFAULT_QUEUE,),
                tenants={OTHER: "Other shop"},
            )
            found["ids"] = await _seed(world)
            found["admin"] = await make_key(world, ApiKeyScope.ADMIN, DEFAULT_TENANT)
            found["platform"] = await make_key(world, ApiKeyScope.PLATFORM, None)
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{sock.getsockname()[1]}"
            app = create_app(services=world.services, settings=WebSettings(public_url=url))
            runner = web.AppRunner(app, shutdown_timeout=1.0)
            await runner.setup()
            await web.SockSite(runner, sock).start()
            stop = asyncio.Event()
            found["url"], found["stop"] = url, (asyncio.get_running_loop(), stop)
            ready.set()
            try:
                await stop.wait()
            finally:
                await runner.cleanup()

    try:
        asyncio.run(main())
    except BaseException as error:  # pytest.skip included: re-raised in the test's thread
        found["error"] = error
    finally:
        ready.set()


@pytest.fixture(params=BACKENDS)
def live_api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveApi]:
    ready = threading.Event()
    found: dict[str, object] = {}
    thread = threading.Thread(
        target=_serve, args=(request.param, tmp_path, ready, found), daemon=True
    )
    thread.start()
    assert ready.wait(60), "the engine did not start"
    if "error" in found:
        raise found["error"]  # type: ignore[misc]
    loop, stop = cast(tuple[asyncio.AbstractEventLoop, asyncio.Event], found["stop"])
    try:
        yield LiveApi(
            url=str(found["url"]),
            admin=str(found["admin"]),
            platform=str(found["platform"]),
            ids=cast(dict[str, str], found["ids"]),
        )
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)


@pytest.mark.parametrize(
    "mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
)
def test_every_operation_keeps_to_its_schema(
    live_api: LiveApi, mode: schemathesis.GenerationMode
) -> None:
    schema = schemathesis.openapi.from_url(f"{live_api.url}/api/v1/openapi.json")
    # A body made too long (a bot's configuration can take hundreds of entries) is
    # refused with 413 before it is read, which is a refusal too.
    rejections = [*schema.config.checks.negative_data_rejection.expected_statuses, "413"]
    schema.config.checks = ChecksConfig.from_dict(
        {"negative_data_rejection": {"expected-statuses": rejections}}
    )
    checks = CHECKS + ([negative_data_rejection] if mode is mode.NEGATIVE else [])
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operations.append(result.ok())
    assert len(operations) >= 20
    for operation in operations:
        scopes = operation.definition.raw["security"][0]["bearer"]
        key = live_api.platform if scopes == ["platform"] else live_api.admin
        _examine(operation, mode, {"Authorization": f"Bearer {key}"}, checks, live_api.ids)


def _refused_by_the_http_parser(response: Response) -> bool:
    return (
        response.status_code == 400
        and response.headers.get("content-type", [""])[0].startswith("text/plain")
        and response.content.startswith(b"Got more than 8190 bytes")
    )


def _examine(
    operation: APIOperation[Any, Any, Any, Any],
    mode: schemathesis.GenerationMode,
    headers: dict[str, str],
    checks: list[Any],
    ids: dict[str, str],
) -> None:
    real = dict(ids)
    if operation.path.startswith("/reports/"):
        real["conversation_id"] = ids["report"]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case[APIOperation[Any, Any, Any, Any]]) -> None:
        if mode is schemathesis.GenerationMode.POSITIVE and case.path_parameters:
            for name in case.path_parameters.keys() & real.keys():
                case.path_parameters[name] = real[name]
        response = case.call(headers=headers, timeout=10)
        # aiohttp refuses a request line over 8190 bytes before any route sees it, with a
        # plain-text 400 of its own (a negative case's long string of percent-encoded
        # 4-byte characters gets there): no answer of the API's to check.
        assume(not _refused_by_the_http_parser(response))
        case.validate_response(
            response, checks, headers=headers, transport_kwargs={"headers": headers, "timeout": 10}
        )

    run()
