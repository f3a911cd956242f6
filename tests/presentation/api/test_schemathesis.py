"""Schemathesis against the live document: every operation, with generated valid and
invalid requests (a bounded number of each), answers no server error, only statuses and
content types it declares, and bodies that conform to its schemas; invalid requests are
refused.

The engine runs in a thread of its own with its own event loop (Schemathesis calls it
synchronously), over SQLite and PostgreSQL, with an admin key for the tenant's
endpoints and a platform key for the operator's.
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
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import APIOperation
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok

from business.clock import SystemClock
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, ApiKeyScope
from presentation import WebSettings, create_app
from tests.conftest import BACKENDS, open_database
from tests.harness import make_world
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


def _serve(backend: str, tmp_path: Path, ready: threading.Event, found: dict[str, object]) -> None:
    async def main() -> None:
        async with open_database(backend, tmp_path) as database:
            world = await make_world(
                uow=database.unit_of_work,
                clock=SystemClock(),
                queues=(DEFAULT_QUEUE,),
                tenants={OTHER: "Other shop"},
            )
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
            url=str(found["url"]), admin=str(found["admin"]), platform=str(found["platform"])
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
    checks = CHECKS + ([negative_data_rejection] if mode is mode.NEGATIVE else [])
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operations.append(result.ok())
    assert len(operations) >= 20
    for operation in operations:
        scopes = operation.definition.raw["security"][0]["bearer"]
        key = live_api.platform if scopes == ["platform"] else live_api.admin
        _examine(operation, mode, {"Authorization": f"Bearer {key}"}, checks)


def _examine(
    operation: APIOperation[Any, Any, Any, Any],
    mode: schemathesis.GenerationMode,
    headers: dict[str, str],
    checks: list[Any],
) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case[APIOperation[Any, Any, Any, Any]]) -> None:
        case.call_and_validate(headers=headers, checks=checks, timeout=10)

    run()
