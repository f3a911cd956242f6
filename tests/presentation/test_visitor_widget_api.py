"""The loader's and chat manager's reads: ``/visitor-api/v1/widget-config`` (public,
cacheable) and ``/visitor-api/v1/availability``; and the demo site's pages."""

from __future__ import annotations

import asyncio
import dataclasses

import aiohttp

from business.model import DEFAULT_TENANT
from business.widget_config import validate_document
from presentation.settings import WebSettings
from tests.harness import World
from tests.presentation.conftest import Server, StartServer, ready_agent
from tests.visitor_client import Visitor

CONFIG = "/visitor-api/v1/widget-config"
AVAILABILITY = "/visitor-api/v1/availability"


async def test_the_configuration_is_public_cacheable_and_revalidated(
    server: Server, world: World
) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}{CONFIG}", params={"tenant": "default"}) as first:
            assert first.status == 200
            body = await first.json()
            etag = first.headers["ETag"]
            assert first.headers["Cache-Control"] == "public, max-age=60"
        # The default: active, floating, and the default trigger showing the button.
        assert body["active"] is True
        assert body["mode"] == "floating"
        assert [t["id"] for t in body["triggers"]] == ["default"]
        assert body["triggers"][0]["action"] == {"type": "show", "item": "button"}

        async with http.get(
            f"{server.url}{CONFIG}", params={"tenant": "default"}, headers={"If-None-Match": etag}
        ) as again:
            assert again.status == 304
            assert await again.read() == b""
        # A list (the browser's and a CDN's), a weak tag, and "*" match; a tag that only
        # contains ours, or a prefix of it, does not.
        for header, status in (
            (f'"other", {etag}', 304),
            (f"W/{etag}", 304),
            ("*", 304),
            (f'"x{etag[1:]}', 200),
            (etag[:-3] + '"', 200),
        ):
            async with http.get(
                f"{server.url}{CONFIG}",
                params={"tenant": "default"},
                headers={"If-None-Match": header},
            ) as reply:
                assert reply.status == status, header

        await world.services.widget_configs.put(DEFAULT_TENANT, {"active": False})
        async with http.get(
            f"{server.url}{CONFIG}", params={"tenant": "default"}, headers={"If-None-Match": etag}
        ) as changed:
            assert changed.status == 200
            assert changed.headers["ETag"] != etag
            assert (await changed.json())["active"] is False


async def test_an_unknown_tenant_has_no_configuration(server: Server) -> None:
    async with aiohttp.ClientSession() as http:
        for tenant in ("nobody", "", "<script>"):
            async with http.get(f"{server.url}{CONFIG}", params={"tenant": tenant}) as reply:
                assert reply.status == 404
                assert (await reply.json())["code"] == "not_found"


async def test_only_allowed_origins_may_read_it(start_server: StartServer) -> None:
    server = await start_server(
        settings=WebSettings(cors_allowed_origins=("https://shop.example",))
    )
    async with aiohttp.ClientSession() as http:
        for origin, allowed in (("https://shop.example", True), ("https://evil.example", False)):
            async with http.get(
                f"{server.url}{CONFIG}", params={"tenant": "default"}, headers={"Origin": origin}
            ) as reply:
                assert reply.status == 200
                assert reply.headers.get("Access-Control-Allow-Origin") == (
                    origin if allowed else None
                )


async def test_availability_is_one_while_a_ready_agent_has_room(
    start_server: StartServer, world: World
) -> None:
    server = await start_server(settings=WebSettings(widget_availability_cache_seconds=0))

    async def probability(**params: str) -> object:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{server.url}{AVAILABILITY}", params=params) as reply,
        ):
            assert reply.status == 200
            assert reply.headers["Cache-Control"] == "no-store"
            return (await reply.json())["probability"]

    assert await probability(tenant="default", queue="support") == 0
    await ready_agent(world)
    assert await probability(tenant="default", queue="support") == 1
    assert await probability(tenant="default") == 1  # the default queue
    assert await probability(tenant="default", queue="elsewhere") == 0
    assert await probability(tenant="other", queue="support") == 0


async def test_the_configuration_is_reused_for_a_while_unless_changed_here(
    start_server: StartServer, world: World
) -> None:
    server = await start_server(settings=WebSettings(widget_config_cache_seconds=1.5))

    async def active() -> object:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{server.url}{CONFIG}", params={"tenant": "default"}) as reply,
        ):
            assert reply.status == 200
            return (await reply.json())["active"]

    assert await active() is True
    # Stored by another engine process (straight into the database): this one keeps
    # what it read until the entry expires.
    stored = await world.services.widget_configs.get(DEFAULT_TENANT)
    async with world.uow() as uow:
        await uow.widget_configs.put(
            dataclasses.replace(
                stored,
                document=validate_document({"active": False}),
                updated_at=world.clock.now(),
            )
        )
        await uow.commit()
    assert await active() is True
    await asyncio.sleep(1.6)
    assert await active() is False
    # Changed through this process: seen at once.
    await world.services.widget_configs.put(DEFAULT_TENANT, {"active": True})
    assert await active() is True


async def test_availability_is_reused_for_a_few_seconds(
    start_server: StartServer, world: World
) -> None:
    server = await start_server(settings=WebSettings(widget_availability_cache_seconds=1.5))

    async def probability() -> object:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{server.url}{AVAILABILITY}", params={"tenant": "default"}) as reply,
        ):
            assert reply.status == 200
            return (await reply.json())["probability"]

    assert await probability() == 0
    await ready_agent(world)
    assert await probability() == 0  # the answer of a moment ago
    await asyncio.sleep(1.6)
    assert await probability() == 1


async def test_widget_reads_have_their_own_rate_budget(
    start_server: StartServer, world: World
) -> None:
    server = await start_server(
        settings=WebSettings(
            widget_read_burst=3,
            widget_read_rate_per_second=0.001,
            connect_burst=1,
            connect_rate_per_second=0.001,
        )
    )
    statuses = []
    async with aiohttp.ClientSession() as http:
        for path in (CONFIG, AVAILABILITY, CONFIG, AVAILABILITY):
            async with http.get(f"{server.url}{path}", params={"tenant": "default"}) as reply:
                statuses.append(reply.status)
                if reply.status == 429:
                    assert (await reply.json())["code"] == "rate_limited"
    assert statuses == [200, 200, 200, 429]
    # Page views used none of the connects: the chat on the page still connects.
    visitor = Visitor(url=server.url)
    try:
        await visitor.connect({"tenant": "default"})
        assert visitor.token
    finally:
        await visitor.disconnect()


async def test_the_demo_pages_link_to_each_other(server: Server) -> None:
    async with aiohttp.ClientSession() as http:
        for path in ("/demo", "/demo/checkout", "/demo/embedded"):
            async with http.get(f"{server.url}{path}?tenant=other") as reply:
                assert reply.status == 200
                page = await reply.text()
            assert page.count("<script") == 1
            # Whole attributes: a prefix would let /demo/embedded lose its ?tenant=.
            for link in (
                "/demo?tenant=other",
                "/demo/checkout?tenant=other",
                "/demo/embedded?tenant=other",
            ):
                assert f'href="{link}"' in page, (path, link)
    assert 'data-embed="#help-chat"' in page
    assert 'id="help-chat"' in page
