"""docs/integrator-guide.md, "Walkthrough: from a key to a report", kept true.

Its REST commands run as printed (with ``curl``, the shell variables set, the webhook
URL pointed at a real receiver on loopback) against a live app over SQLite and
PostgreSQL with the webhook dispatcher running; its Python and Node.js verification
snippets, taken from the markdown by their markers, accept a real signed delivery and
reject tampered ones; and every ``/api/v1/…`` path it names is in the live OpenAPI
document. (The ``chat-engine apikey create`` lines run in ``tests/e2e/test_external_bot.py``.)
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shlex
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from business import commands as c
from business.model import DEFAULT_TENANT, AgentId, ApiKeyScope, ConversationState
from data.database import Database
from tests.presentation.api.conftest import make_key
from tests.presentation.conftest import StartServer
from tests.presentation.test_webhook_deliveries import engine
from tests.presentation.webhook_receiver import Received, receiver

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "integrator-guide.md"
TITLE = "### Walkthrough: from a key to a report"
WEBHOOK_URL = "https://bot.example.com/chat-events"
ALICE = "alice@agents.example"

Verify = Callable[[str, dict[str, str], bytes], bool]


def walkthrough() -> str:
    guide = GUIDE.read_text()
    start = guide.index(TITLE)
    return guide[start : guide.index("\n### ", start + len(TITLE))]


def snippet(name: str) -> str:
    """The fenced block right after ``<!-- snippet: name -->``."""
    (block,) = re.findall(rf"<!-- snippet: {name} -->\n```\w+\n(.*?)```", walkthrough(), re.S)
    assert isinstance(block, str)
    return block


def python_verify() -> Verify:
    namespace: dict[str, Any] = {}
    exec(snippet("verify-webhook-python"), namespace)  # our own documentation, as printed
    verify = namespace["verify"]
    assert callable(verify)
    return verify  # type: ignore[no-any-return]


async def node_verify(tmp_path: Path, secret: str, headers: dict[str, str], body: bytes) -> bool:
    script = tmp_path / "verify.js"
    script.write_text(
        snippet("verify-webhook-node")
        + """
let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const t = JSON.parse(input);
  process.stdout.write(String(verify(t.secret, t.headers, Buffer.from(t.body, "base64"))));
});
"""
    )
    given = {"secret": secret, "headers": headers, "body": base64.b64encode(body).decode()}
    process = await asyncio.create_subprocess_exec(
        "node",
        str(script),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(json.dumps(given).encode())
    assert process.returncode == 0, err.decode()
    assert out in (b"true", b"false"), out
    return out == b"true"


def curl_commands(text: str) -> list[str]:
    """The ``curl`` commands of the text's ``sh`` blocks, each whole (continued lines and
    quoted bodies spanning lines), in order."""
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        pending: list[str] = []
        for line in block.splitlines():
            if not pending and not line.startswith("curl "):
                continue
            pending.append(line)
            joined = "\n".join(pending)
            if joined.endswith("\\"):
                continue
            try:
                shlex.split(joined)
            except ValueError:  # a quoted body goes on
                continue
            commands.append(joined)
            pending = []
        assert not pending, pending
    return commands


async def curl(command: str, tmp_path: Path, **variables: str) -> tuple[int, str]:
    """Run ``command`` as printed in a shell with ``variables`` set: (status, output)."""
    process = await asyncio.create_subprocess_exec(
        "sh",
        "-c",
        command + " -w '\\n%{http_code}'",
        cwd=tmp_path,
        env={**os.environ, **variables},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, (command, err.decode())
    body, _, status = out.decode().rpartition("\n")
    return int(status), body


def template_pattern(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")


def named_paths(text: str) -> list[tuple[str | None, str]]:
    """(method or None, path under /api/v1) of every ``/api/v1/…`` the text names; the
    method where a curl command says it (``-X``, else GET)."""
    found: list[tuple[str | None, str]] = []
    for command in curl_commands(text):
        method = re.search(r"-X (\w+)", command)
        (url,) = re.findall(r"/api/v1(/[^\s\"'?]*)", command)
        found.append((method.group(1) if method else "GET", url))
    found += [(None, path) for path in re.findall(r"/api/v1(/[^\s\"'?`]*)", text)]
    return found


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
async def test_the_walkthrough_runs_as_printed_against_a_live_engine(
    database: Database, start_server: StartServer, tmp_path: Path
) -> None:
    commands = curl_commands(walkthrough())
    assert [command.split('"$ENGINE/api/v1/')[1].split('"')[0] for command in commands] == [
        "queues/support",
        "webhooks",
        "conversations/$ID/messages",
        "conversations/$ID/transfer",
        "reports/conversations/$ID",
        "reports/conversations?since=2026-12-01T00:00:00Z&until=2026-12-02T00:00:00Z",
    ]
    queue_bot, subscribe, answer, hand_over, report, csv_report = commands
    by_python = python_verify()
    async with receiver() as target, engine(database) as world:
        server = await start_server(world=world)
        variables = {
            "ENGINE": server.url,
            "ADMIN_KEY": await make_key(world, ApiKeyScope.ADMIN, DEFAULT_TENANT),
            "BOT_KEY": await make_key(world, ApiKeyScope.BOT, DEFAULT_TENANT),
        }
        agent = await world.agent(AgentId("alice-id"), address=ALICE, name="Alice")

        status, out = await curl(queue_bot, tmp_path, **variables)
        assert status == 200, out
        assert json.loads(out)["bot"]["kind"] == "external"
        status, out = await curl(
            subscribe.replace(WEBHOOK_URL, target.url("/chat-events")), tmp_path, **variables
        )
        assert status == 201, out
        secret = json.loads(out)["secret"]
        assert secret.startswith("whsec_")

        conv = await world.start(await world.visitor(), "Where is my order 42?")
        assert conv.state is ConversationState.BOT
        delivered = await target.wait_for(2)  # the state (bot), then the visitor's message
        assert [r.document["type"] for r in delivered] == [
            "conversation.state_changed",
            "message.created",
        ]
        for got in delivered:
            await check_signatures(by_python, tmp_path, secret, got)

        variables["ID"] = conv.id
        status, out = await curl(answer, tmp_path, **variables)
        assert status == 201, out
        assert json.loads(out)["from"] == {"kind": "bot", "name": "Ava", "id": "ava"}
        status, out = await curl(hand_over, tmp_path, **variables)
        assert status == 200, out
        assert json.loads(out)["state"] in ("queued", "active")  # Alice takes it at once
        await world.agent_says(agent, conv.id, "Hi, Alice here. Let me look at order 42.")
        await world.conversations.end_by_visitor(
            c.EndConversationByVisitor(visitor_id=conv.visitor_id, conversation_id=conv.id)
        )

        status, out = await curl(report, tmp_path, **variables)
        assert status == 200, out
        figures = json.loads(out)
        assert (figures["bot_handled"], figures["outcome"]) == (True, "answered")
        assert (figures["messages_visitor"], figures["messages_agent"]) == (1, 1)
        status, out = await curl(
            csv_report.replace("2026-12-01T00:00:00Z", "2000-01-01T00:00:00Z").replace(
                "2026-12-02T00:00:00Z", "2100-01-01T00:00:00Z"
            ),
            tmp_path,
            **variables,
        )
        assert status == 200, out
        lines = (tmp_path / "december-1.csv").read_text().splitlines()
        assert lines[0].startswith("conversation_id,tenant_id,queue,")
        assert [line.split(",")[0] for line in lines[1:]] == [conv.id]


async def check_signatures(by_python: Verify, tmp_path: Path, secret: str, got: Received) -> None:
    """The snippets accept the delivery as received and refuse it tampered with."""
    other = replace(got, body=got.body.replace(b"order 42", b"order 43"))
    forged = dict(got.headers, **{"webhook-signature": "v1," + "A" * 44})
    old = dict(
        got.headers, **{"webhook-timestamp": str(int(got.headers["webhook-timestamp"]) - 3600)}
    )
    assert by_python(secret, got.headers, got.body)
    assert not by_python(secret, forged, got.body)
    assert not by_python(secret, old, got.body)
    assert not by_python("whsec_" + base64.b64encode(b"x" * 32).decode(), got.headers, got.body)
    if b"order 42" in got.body:
        assert not by_python(secret, got.headers, other.body)
    if shutil.which("node") is None:
        return
    assert await node_verify(tmp_path, secret, got.headers, got.body)
    assert not await node_verify(tmp_path, secret, forged, got.body)
    assert not await node_verify(tmp_path, secret, old, got.body)
    if b"order 42" in got.body:
        assert not await node_verify(tmp_path, secret, got.headers, other.body)


async def test_every_path_the_walkthrough_names_is_in_the_live_openapi_document(
    start_server: StartServer,
) -> None:
    server = await start_server()
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}/api/v1/openapi.json") as reply,
    ):
        assert reply.status == 200
        document = await reply.json()
    operations = {
        (method.upper(), template_pattern(path))
        for path, item in document["paths"].items()
        for method in item
    }
    named = named_paths(walkthrough())
    assert len([m for m, _ in named if m is not None]) == 6
    for method, path in named:
        matches = [m for m, pattern in operations if pattern.match(path)]
        assert matches, f"{path} is not in the OpenAPI document"
        if method is not None:
            assert method in matches, f"{method} {path} is not in the OpenAPI document"
