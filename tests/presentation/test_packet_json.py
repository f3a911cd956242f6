"""``presentation.packet_json``: the visitor server's packets carry the same values with
orjson as with the json module, what orjson refuses still goes, and the sizes measured
are the bytes sent."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import aiohttp
import pytest

from presentation import packet_json
from presentation.packet_json import PacketJson, dumps, encoded_size
from presentation.settings import WebSettings
from presentation.socketio_server import TextPacket, build_server
from tests.presentation.socketio_serving import serving

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
    assert text == json.dumps(expected, separators=(",", ":"), ensure_ascii=False).replace(
        "\ud800", "\\ud800"
    )
    assert encoded_size(value) == len(text.encode())


def test_beyond_ascii_is_utf8_whichever_encoder_writes(encoder: str) -> None:
    assert dumps({"text": "é😀"}) == '{"text":"é😀"}'
    # A lone surrogate, which UTF-8 cannot carry, as its escape; the text encodes.
    text = dumps({"text": "é\ud800"})
    assert text == '{"text":"é\\ud800"}'
    assert len(text.encode()) == encoded_size({"text": "é\ud800"})


class Kind(StrEnum):
    AGENT = "agent"


@dataclass
class Point:
    x: int


def test_what_the_json_module_refuses_is_still_refused(encoder: str) -> None:
    for value in ({"at": datetime(2026, 11, 27, tzinfo=UTC)}, {"point": Point(1)}):
        with pytest.raises(TypeError):
            json.dumps(value)
        with pytest.raises(TypeError):
            dumps(value)
    # Subclasses of str (and int, dict, list) are written as the json module writes them.
    assert dumps({"kind": Kind.AGENT}) == json.dumps({"kind": Kind.AGENT}, separators=(",", ":"))


@pytest.fixture
async def served() -> AsyncIterator[str]:
    sio = build_server(WebSettings(), None)

    @sio.on("say", namespace=NAMESPACE)  # type: ignore[untyped-decorator]
    async def say(sid: str, data: Any) -> None:
        await sio.emit("said", data, to=sid, namespace=NAMESPACE)

    async with serving(sio) as url:
        yield url


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


@pytest.mark.parametrize(
    "text",
    [
        '["message.send",{"conversation_id":"c1","text":"hi","n":12,"x":-1.5e3}]',
        '{"big":' + "9" * 100 + ',"negative":-' + "9" * 99 + "}",
        '[NaN, Infinity, -Infinity, 1e999, "lone \\ud800", "\\u00e9"]',
        '"just a string"',
        "  [1, 2]  ",
        b'{"bytes": "\xc3\xa9"}',
    ],
)
def test_incoming_packets_read_as_python_engineio_reads_them(text: str | bytes) -> None:
    from engineio import json as engineio_json

    expected = engineio_json.loads(text)
    assert repr(PacketJson.loads(text)) == repr(expected)  # nan == nan is False


@pytest.mark.parametrize(
    ("text", "error"),
    [
        # More than 100 digits, the sign counted, refused as python-engineio does.
        ("[" + "9" * 101 + "]", "Integer is too large"),
        ("[-" + "9" * 100 + "]", "Integer is too large"),
        ('{"unterminated": ', "Expecting value"),
        ("[1] trailing", "Extra data"),
        ("", "Expecting value"),
        ("\ufeff[1]", "Unexpected UTF-8 BOM"),
    ],
)
def test_what_python_engineio_refuses_to_read_is_refused(text: str, error: str) -> None:
    from engineio import json as engineio_json

    with pytest.raises(ValueError, match=error) as theirs:
        engineio_json.loads(text)
    with pytest.raises(ValueError, match=error) as ours:
        PacketJson.loads(text)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)
