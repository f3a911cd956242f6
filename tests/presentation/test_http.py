"""Plain HTTP routes: health, the demo page and the widget assets."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from tests.presentation.conftest import Server, StartServer

LOADER_SNIPPET = '<script async src="/widget/loader.js" data-tenant="default"></script>'


async def _get(url: str) -> tuple[int, str, dict[str, str]]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.text(), dict(response.headers)


async def _ok() -> bool:
    return True


async def _failing() -> bool:
    return False


async def _broken() -> bool:
    raise ConnectionError("database is down")


async def test_healthz_is_200_when_every_check_passes(start_server: StartServer) -> None:
    server = await start_server(health={"database": _ok, "xmpp": _ok})
    async with aiohttp.ClientSession() as http, http.get(f"{server.url}/healthz") as response:
        assert response.status == 200
        assert await response.json() == {
            "status": "ok",
            "checks": {"database": "ok", "xmpp": "ok"},
        }


async def test_healthz_without_checks_is_200(server: Server) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{server.url}/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok", "checks": {}}


@pytest.mark.parametrize("bad", [_failing, _broken])
async def test_healthz_is_503_when_a_check_fails_or_raises(
    start_server: StartServer, bad: object
) -> None:
    server = await start_server(health={"database": _ok, "xmpp": bad})  # type: ignore[dict-item]
    async with aiohttp.ClientSession() as http, http.get(f"{server.url}/healthz") as response:
        assert response.status == 503
        assert await response.json() == {
            "status": "fail",
            "checks": {"database": "ok", "xmpp": "fail"},
        }


async def test_the_demo_page_embeds_the_one_line_loader(server: Server) -> None:
    status, body, headers = await _get(f"{server.url}/demo")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert body.count("<script") == 1
    assert LOADER_SNIPPET in body
    # The copyable install snippet names the public URL, escaped as text.
    assert f"&lt;script async src=&quot;{server.url}/widget/loader.js&quot;" in body


async def test_the_demo_page_refuses_a_tenant_that_could_break_out_of_the_attribute(
    server: Server,
) -> None:
    status, _, _ = await _get(f'{server.url}/demo?tenant="><script>alert(1)</script>')
    assert status == 400


async def test_widget_assets_are_served_after_the_build(server: Server, widget_dist: Path) -> None:
    status, loader, headers = await _get(f"{server.url}/widget/loader.js")
    assert status == 200
    assert headers["Content-Type"].startswith("text/javascript")
    assert "manager.js?v=" in loader
    assert len(loader) < 4096, "the loader must stay tiny: every page view fetches it"
    status, widget, _ = await _get(f"{server.url}/widget/widget.js")
    assert status == 200
    assert "/visitor" in widget
    assert len(widget) > 10 * len(loader)


@pytest.mark.parametrize("name", ["nope.js", ".env", "..%2Fapp.py", "%2e%2e"])
async def test_unknown_or_sneaky_widget_paths_are_404(
    server: Server, widget_dist: Path, name: str
) -> None:
    status, _, _ = await _get(f"{server.url}/widget/{name}")
    assert status == 404


async def test_an_unbuilt_widget_says_how_to_build_it(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await start_server(widget_dir=tmp_path / "dist")
    status, body, _ = await _get(f"{server.url}/widget/loader.js")
    assert status == 404
    assert "npm ci && npm run build" in body
