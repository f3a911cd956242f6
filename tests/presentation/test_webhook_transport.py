"""The HTTP side of webhooks (``presentation.webhook_transport``) against a real server on
loopback: what is sent, what counts as an answer, and the SSRF guard at connection time
and when a subscription is made with the system's resolver."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

from business.errors import TargetRefused
from business.model import DEFAULT_TENANT
from business.webhook_commands import CreateWebhook
from presentation.webhook_transport import AiohttpWebhookTransport, SystemHostResolver
from tests.harness import make_world
from tests.presentation.webhook_receiver import Receiver, receiver

BODY = b'{"type":"message.created","data":{"text":"gr\\u00fc\\u00dfe"}}'
HEADERS = {"webhook-id": "msg_1", "content-type": "application/json"}


@pytest.fixture
async def target() -> AsyncIterator[Receiver]:
    async with receiver() as made:
        yield made


@pytest.fixture
async def open_transport() -> AsyncIterator[AiohttpWebhookTransport]:
    transport = AiohttpWebhookTransport(allow_private=True)
    yield transport
    await transport.close()


@pytest.fixture
async def guarded() -> AsyncIterator[AiohttpWebhookTransport]:
    transport = AiohttpWebhookTransport(allow_private=False)
    yield transport
    await transport.close()


async def test_a_post_carries_the_body_and_headers_as_given(
    target: Receiver, open_transport: AiohttpWebhookTransport
) -> None:
    result = await open_transport.post(target.url("/in"), BODY, HEADERS, 5.0)
    assert result.ok
    assert result.status == 204
    assert result.error is None
    assert result.duration_ms >= 0
    (got,) = target.received
    assert (got.path, got.body) == ("/in", BODY)
    assert got.headers["webhook-id"] == "msg_1"
    assert got.headers["content-type"] == "application/json"
    assert got.headers["user-agent"].startswith("chat-engine-webhooks")


async def test_other_answers_are_failures_that_say_why(
    target: Receiver, open_transport: AiohttpWebhookTransport
) -> None:
    target.answer = lambda received: (500, 0.0)
    failed = await open_transport.post(target.url(), BODY, HEADERS, 5.0)
    assert not failed.ok
    assert (failed.status, failed.error) == (500, "HTTP 500: answer 500")
    # A redirect is not followed (it could point anywhere): a failure, nothing more.
    target.answer = lambda received: (307, 0.0) if received.path == "/hook" else (200, 0.0)
    moved = await open_transport.post(target.url(), BODY, HEADERS, 5.0)
    assert (moved.status, moved.ok) == (307, False)
    assert [r.path for r in target.received] == ["/hook", "/hook"]


async def test_a_slow_target_times_out(
    target: Receiver, open_transport: AiohttpWebhookTransport
) -> None:
    target.answer = lambda received: (200, 3.0)
    result = await open_transport.post(target.url(), BODY, HEADERS, 0.3)
    assert result.status is None
    assert result.error == "timed out after 0.3 s"
    assert 250 <= result.duration_ms < 2000


async def test_a_closed_port_is_a_connection_error(
    open_transport: AiohttpWebhookTransport,
) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    result = await open_transport.post(f"http://127.0.0.1:{port}/hook", BODY, HEADERS, 5.0)
    assert result.status is None
    assert result.error is not None
    assert result.error.startswith(f"cannot connect to 127.0.0.1:{port}")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_loopback_is_refused_when_connecting_unless_allowed(
    target: Receiver, guarded: AiohttpWebhookTransport, host: str
) -> None:
    url = target.url().replace("127.0.0.1", host)
    result = await guarded.post(url, BODY, HEADERS, 5.0)
    assert result.status is None
    assert result.error is not None
    assert "refused" in result.error
    assert "loopback address" in result.error
    assert target.received == []  # no connection was made


async def test_the_system_resolver_resolves_as_the_transport_connects() -> None:
    resolver = SystemHostResolver()
    assert "127.0.0.1" in await resolver.resolve("localhost", 80)
    assert await resolver.resolve("192.0.2.7", 443) == ["192.0.2.7"]
    assert await resolver.resolve("no-such-host.invalid", 443) == []


@pytest.mark.parametrize(
    "url",
    ["http://localhost:8080/hook", "http://127.0.0.1/hook", "http://[::1]:9000/", "http://127.1/"],
)
async def test_a_subscription_to_loopback_is_refused_with_the_real_resolver(url: str) -> None:
    world = await make_world()  # the engine's default resolver, private targets not allowed
    with pytest.raises(TargetRefused, match="loopback"):
        await world.services.webhooks.create(CreateWebhook(tenant_id=DEFAULT_TENANT, url=url))
    assert await world.services.webhooks.list(DEFAULT_TENANT) == []
