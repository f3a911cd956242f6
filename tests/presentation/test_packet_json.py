"""``presentation.packet_json``: the visitor server's packets carry the same values with
orjson as with the json module, what orjson refuses still goes, and the sizes measured
are the bytes sent."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from presentation import packet_json
from presentation.packet_json import PacketJson, dumps, encoded_size
from presentation.settings import WebSettings
from presentation.socketio_server import TextPacket, build_server

NAMESPACE = "/chat"
VALUES: list[Any] = [
    {"type": "message", "text": "plain", "seq": 3, "ok": True, "none": None},
    {"text": "é ü ß 中文 😀 \u2028", "list": [1, 2.5, -3, "x"]},
    ["event", {"nested": {"deeper": [{}, [], ""]}}],
    {"control": '\x00\x1f " \\ /'},
]
REFUSED_BY_ORJSON: list[Any] = [{"text": "lone \ud800 surrogate"}, {"n": 2**70}, {1: "int key"}]


@pytest.fixture(params=["orjson", "json module"])
def encoder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "orjson":
        pytest.importorskip("orjson")
    else:
        monkeypatch.setattr(packet_json, "orjson", None)
    return str(request.param)


@pytest.mark.parametrize("value", VALUES + REFUSED_BY_ORJSON)
def test_the_text_reads_back_as_the_same_value_compact(encoder: str, value: Any) -> None:
    text = dumps(value, separators=(",", ":"))
    expected = json.loads(json.dumps(value))  # int keys come back as strings
    assert json.loads(text) == expected
    assert PacketJson.loads(text) == expected
    assert ": " not in text
    assert ", " not in text.replace('", "', "")  # no separator spaces
    assert encoded_size(value) == len(text.encode())


def test_beyond_ascii_is_utf8_with_orjson_and_escaped_without(encoder: str) -> None:
    text = dumps({"text": "é😀"})
    if encoder == "orjson":
        assert text == '{"text":"é😀"}'
    else:
        assert text == '{"text":"\\u00e9\\ud83d\\ude00"}'


@pytest.fixture
async def served() -> AsyncIterator[str]:
    sio = build_server(WebSettings(), None)

    @sio.on("say", namespace=NAMESPACE)  # type: ignore[untyped-decorator]
    async def say(sid: str, data: Any) -> None:
        await sio.emit("said", data, to=sid, namespace=NAMESPACE)

    app = web.Application()
    sio.attach(app)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def test_the_visitor_server_sends_packets_in_this_json(served: str) -> None:
    assert TextPacket.json is PacketJson
    payload = {"text": "Grüße 😀", "seq": 7}
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{served}/socket.io/?EIO=4&transport=websocket") as ws,
    ):
        assert (await ws.receive_str(timeout=5)).startswith("0")  # Engine.IO open
        await ws.send_str(f"40{NAMESPACE},")
        assert (await ws.receive_str(timeout=5)).startswith(f"40{NAMESPACE},")
        await ws.send_str(f"42{NAMESPACE},{json.dumps(['say', payload])}")
        frame = await ws.receive_str(timeout=5)
    assert frame == f"42{NAMESPACE}," + dumps(["said", payload])
    assert json.loads(frame.split(",", 1)[1]) == ["said", payload]
