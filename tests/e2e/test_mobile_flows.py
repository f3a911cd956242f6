"""The mobile flows of docs/mobile-flows.md, each driven by the headless chat core
(``dist/chat-core.mjs``, fetched from the engine as an app would) in Node 20
(``mobile_flows.mjs``), against one wired engine on a real Prosody with a scripted XMPP
agent in three queues: ``support`` (chat), ``threads`` (messaging) and ``concierge``
(a bot greets first). One engine serves every sequence (on SQLite: these test the
client, the storage is tested elsewhere), each with a visitor of its own."""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from business import commands as c
from business.identity_model import IdentityKey, IdentityMode, KeyAlgorithm
from business.identity_settings import ConfigureIdentity
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, ConversationId, QueueName
from chat_engine.engine import Engine
from chat_engine.prosody import ProsodyServer
from tests.business.bot_support import BOT_CONFIG
from tests.e2e.agent import ScriptedAgent
from tests.e2e.conftest import _settings
from tests.e2e.test_chat_flow import WAIT, conversation_jid, until_ready
from tests.presentation.test_identity_socket import AUDIENCE, SECRET, claims, hs256

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

SCRIPT = Path(__file__).with_name("mobile_flows.mjs")
MESSAGING = QueueName("threads")
BOT_QUEUE = QueueName("concierge")


@dataclass
class Rig:
    engine: Engine
    agent: ScriptedAgent
    core: Path
    tmp: Path


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rig(
    prosody: ProsodyServer, widget_dist: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Rig]:
    if shutil.which("node") is None:
        pytest.skip("Node is not installed")
    tmp = tmp_path_factory.mktemp("mobile")
    engine = Engine(_settings(prosody, f"sqlite+aiosqlite:///{tmp / 'engine.db'}"))
    await engine.start()
    agent: ScriptedAgent | None = None
    try:
        await engine.bridge.wait_connected(WAIT)
        queues = engine.services.queues
        await queues.create(
            c.CreateQueue(
                tenant_id=DEFAULT_TENANT,
                queue=MESSAGING,
                settings=c.ConfigureQueue(
                    tenant_id=DEFAULT_TENANT, queue=MESSAGING, mode="messaging"
                ),
            )
        )
        await queues.create(
            c.CreateQueue(
                tenant_id=DEFAULT_TENANT,
                queue=BOT_QUEUE,
                settings=c.ConfigureQueue(
                    tenant_id=DEFAULT_TENANT, queue=BOT_QUEUE, bot=BOT_CONFIG
                ),
            )
        )
        # Signed identities optional: the anonymous flows go on, an app may sign in.
        await engine.services.identity_settings.configure(
            ConfigureIdentity(
                tenant_id=DEFAULT_TENANT,
                mode=IdentityMode.OPTIONAL,
                audience=AUDIENCE,
                keys=[IdentityKey(kid=None, algorithm=KeyAlgorithm.HS256, material=SECRET)],
            )
        )
        password = secrets.token_urlsafe(12)
        jid = prosody.register(f"mobile-{secrets.token_hex(4)}", password)
        await engine.services.agents.add_agent(
            c.AddAgent(
                address=jid,
                queues=(DEFAULT_QUEUE, MESSAGING, BOT_QUEUE),
                max_chats=20,
                tenant_id=DEFAULT_TENANT,
                name="Alice",
                auto_accept=True,
            )
        )
        agent = ScriptedAgent(jid, password, host=prosody.host, port=prosody.c2s_port)
        await agent.connect()
        for queue in (DEFAULT_QUEUE, MESSAGING, BOT_QUEUE):
            agent.subscribe(f"{queue}@{engine.settings.xmpp.component_jid}")
        await until_ready(engine, jid)
        # The core as an app or a site gets it: from the engine, an ES module anyone may
        # import (CORS), then imported by Node from where it was saved.
        assert engine.url is not None
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{engine.url}/widget/chat-core.mjs") as response,
        ):
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/javascript")
            assert response.headers["Access-Control-Allow-Origin"] == "*"
            core = tmp / "chat-core.mjs"
            core.write_bytes(await response.read())
        yield Rig(engine=engine, agent=agent, core=core, tmp=tmp)
    finally:
        if agent is not None:
            await agent.disconnect()
        await engine.stop()


class Flow:
    """One run of ``mobile_flows.mjs``: its steps as they come, ``go()`` to let it on."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def step(self, name: str) -> dict[str, Any]:
        assert self.proc.stdout is not None
        while True:
            line = await asyncio.wait_for(self.proc.stdout.readline(), WAIT * 2)
            if not line:
                assert self.proc.stderr is not None
                err = (await self.proc.stderr.read()).decode()
                raise AssertionError(f"the flow ended before {name!r}: {err}")
            out: dict[str, Any] = json.loads(line)
            if out["step"] == "error":
                raise AssertionError(f"the flow failed: {out['message']}\n{out.get('stack')}")
            if out["step"] == name:
                return out

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b'{"go": true}\n')

    async def result(self) -> dict[str, Any]:
        out = await self.step("result")
        assert await asyncio.wait_for(self.proc.wait(), WAIT) == 0
        return out


async def flow(rig: Rig, sequence: str, storage: str, **opts: Any) -> Flow:
    args = {"core": rig.core.as_uri(), "url": rig.engine.url, "storage": str(rig.tmp / storage)}
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(SCRIPT),
        sequence,
        json.dumps({**args, **opts}),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    return Flow(proc)


async def run(rig: Rig, sequence: str, storage: str, **opts: Any) -> dict[str, Any]:
    return await (await flow(rig, sequence, storage, **opts)).result()


def seqs_in_order(events: list[dict[str, Any]]) -> None:
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs


async def test_app_becomes_active(rig: Rig) -> None:
    first = await run(rig, "active", "active.json")
    assert first["had_token"] is False
    assert first["threads_before"] == 0
    assert first["token_stored"] is True
    again = await run(rig, "active", "active.json")  # the app restarted
    assert again["had_token"] is True
    assert again["visitor_id"] == first["visitor_id"]
    other = await run(rig, "active", "another-device.json")
    assert other["visitor_id"] != first["visitor_id"]


async def test_app_becomes_active_with_a_signed_identity(rig: Rig) -> None:
    """The same customer signed in on the web and in the app is one visitor, with one
    history; a refused identity is a final error, not a retry loop."""
    token = hs256(claims(sub="mobile-customer-7"))
    phone = await run(rig, "active", "phone.json", identity=token)
    web = await run(rig, "active", "web.json", identity=token)
    assert phone["visitor_id"] == web["visitor_id"]
    again = await run(rig, "active", "phone.json", identity=token)  # threads read with it
    assert again["visitor_id"] == phone["visitor_id"]
    refused = await run(rig, "active", "expired.json", identity=hs256(claims(exp=1)))
    assert refused["refused"]["code"] == "identity_invalid"
    assert refused["refused"]["reason"] == "expired"


async def test_app_goes_to_background_and_back(rig: Rig) -> None:
    run_ = await flow(rig, "background", "background.json")
    conv_jid = conversation_jid(rig.engine, (await run_.step("started"))["conversation_id"])
    await rig.agent.wait_body("Before the break", sender=conv_jid, timeout=WAIT)
    run_.go()
    assert (await run_.step("backgrounded"))["outbox"] == 1
    rig.agent.send(conv_jid, "While you were away")
    run_.go()
    result = await run_.result()
    await rig.agent.wait_body("Written while in the background", sender=conv_jid, timeout=WAIT)
    await asyncio.sleep(0.5)
    bodies = rig.agent.bodies_from(conv_jid)
    assert sum("Written while in the background" in b for b in bodies) == 1
    assert result["outbox_after"] is None
    events = result["events"]
    seqs_in_order(events)
    texts = [e["text"] for e in events if e["type"] == "message"]
    assert texts.count("While you were away") == 1
    assert texts.count("Written while in the background") == 1
    assert texts.index("Before the break") < texts.index("While you were away")


async def test_page_views_reach_the_context(rig: Rig) -> None:
    run_ = await flow(rig, "page_view", "pages.json")
    conversation_id = (await run_.step("started"))["conversation_id"]
    conv_jid = conversation_jid(rig.engine, conversation_id)
    offer = await rig.agent.wait_body("About the grinder", sender=conv_jid, timeout=WAIT)
    assert "Page: Grinder - app://shop/product/42" in offer.body  # the start's context
    run_.go()
    assert (await run_.result())["update_ok"] is True
    await rig.agent.wait_body("app://shop/checkout", sender=conv_jid, timeout=WAIT)
    details = await rig.engine.services.conversation_queries.get(
        DEFAULT_TENANT, ConversationId(conversation_id)
    )
    context = details.conversation.context
    assert context.page_url == "app://shop/checkout"
    assert context.pages is not None
    assert [p.url for p in context.pages] == [
        "app://shop/home",
        "app://shop/product/42",
        "app://shop/checkout",
    ]


async def test_opening_the_chat(rig: Rig) -> None:
    result = await run(rig, "open_chat", "open.json")
    assert result["conversations_before"] == 0
    assert result["current"] == result["conversation"]["id"]
    first = result["events"][0]
    assert first["seq"] == 1
    kinds = [(e["type"], e["kind"]) for e in result["events"]]
    assert ("message", "visitor") in kinds
    conv_jid = conversation_jid(rig.engine, result["conversation"]["id"])
    await rig.agent.wait_body("Hello from the app", sender=conv_jid, timeout=WAIT)


async def test_single_thread_recovery(rig: Rig) -> None:
    first = await run(rig, "recover_single", "single.json", phase="first")
    conversation_id = first["conversation_id"]
    seen = first["seen"][conversation_id]
    assert seen >= 2
    conv_jid = conversation_jid(rig.engine, conversation_id)
    await rig.agent.wait_body("Please call me back", sender=conv_jid, timeout=WAIT)
    rig.agent.send(conv_jid, "We called you")  # while the app is not running
    again = await run(rig, "recover_single", "single.json", phase="again")
    assert again["current"] == conversation_id
    # The start the app had not seen acked went again: the same conversation, stored once.
    assert again["resent"]["conversation"]["id"] == conversation_id
    assert again["outbox"] is None
    assert [s["id"] for s in again["session"]] == [conversation_id]
    events = again["events"]
    assert events[0]["seq"] == seen + 1  # replayed from the last seq seen, not from 1
    seqs_in_order(events)
    assert ("message", "agent", "We called you") in [
        (e["type"], e["kind"], e["text"]) for e in events
    ]
    assert all(e["text"] != "Please call me back" for e in events)
    assert sum("Please call me back" in b for b in rig.agent.bodies_from(conv_jid)) == 1


async def test_multi_thread_recovery(rig: Rig) -> None:
    first = await run(rig, "recover_multi", "multi.json", phase="first", queue=MESSAGING)
    one, two = first["first"], first["second"]
    assert one != two
    one_jid = conversation_jid(rig.engine, one)
    await rig.agent.wait_body("First topic", sender=one_jid, timeout=WAIT)
    await rig.agent.wait_body(
        "Second topic", sender=conversation_jid(rig.engine, two), timeout=WAIT
    )
    rig.agent.send(one_jid, "About your first topic")
    await asyncio.sleep(1)  # stored before the app comes back
    again = await run(
        rig, "recover_multi", "multi.json", phase="again", queue=MESSAGING, thread=one
    )
    threads = {t["id"]: t for t in again["threads"]}
    assert set(threads) == {one, two}
    assert threads[one]["unread"] == 1
    assert threads[one]["preview"] == "About your first topic"
    assert threads[two]["unread"] == 0
    assert {s["id"] for s in again["session"]} == {one, two}
    events = again["events"]
    assert {e["seq"] for e in events} == set(
        range(first["seen"][one] + 1, first["seen"][one] + 1 + len(events))
    )
    assert all(e["text"] != "Second topic" for e in events)  # the other thread is not replayed
    after = {t["id"]: t for t in again["after"]}
    assert after[one]["unread"] == 0  # read


async def test_creating_a_thread(rig: Rig) -> None:
    result = await run(rig, "create_thread", "create.json", queue=MESSAGING)
    assert result["again"] == result["first"]  # a start returns the open thread
    assert result["created"] != result["first"]
    threads = {t["id"]: t for t in result["threads"]}
    assert set(threads) == {result["first"], result["created"]}
    assert threads[result["created"]]["preview"] == "A new question"
    assert threads[result["first"]]["preview"] == "Still the order"
    details = await rig.engine.services.conversation_queries.get(
        DEFAULT_TENANT, ConversationId(result["created"])
    )
    assert details.conversation.context.custom.get("identity_initiated_thread") == "true"


async def test_chat_with_an_agent_after_a_welcome_message(rig: Rig) -> None:
    run_ = await flow(rig, "agent_welcome", "welcome.json", queue=BOT_QUEUE)
    conversation_id = (await run_.step("queued"))["conversation_id"]
    conv_jid = conversation_jid(rig.engine, conversation_id)
    offer = await rig.agent.wait_body(BOT_CONFIG.handover_text, sender=conv_jid, timeout=WAIT)
    assert BOT_CONFIG.greeting in offer.body
    rig.agent.chat_state(conv_jid, "composing")
    rig.agent.send(conv_jid, "Hello, Alice here", msg_id="alice-hello")
    run_.go()
    await run_.step("answered")
    await rig.agent.wait_body("Thanks Alice", sender=conv_jid, timeout=WAIT)
    await rig.agent.wait_displayed(conv_jid, "alice-hello")
    composing = [
        m for m in rig.agent.received if m.from_jid == conv_jid and m.chat_state == "composing"
    ]
    assert composing
    run_.go()
    result = await run_.result()
    assert result["ack_state"] == "bot"
    assert result["greeting"] == BOT_CONFIG.greeting
    others = [(e["kind"], e["text"]) for e in result["events"] if e["kind"] in ("bot", "agent")]
    # The welcome (the bot's greeting) comes first, stored before the start's ack.
    assert others[0] == ("bot", BOT_CONFIG.greeting)
    assert others[-1] == ("agent", "Hello, Alice here")
    assert any(t["state"] == "composing" and t["from"]["kind"] == "agent" for t in result["typing"])
    seqs_in_order(result["events"])
    states = [e["state"] for e in result["events"] if e["type"] == "state.changed"]
    assert states == ["bot", "queued", "active"]


async def test_ending_the_contact(rig: Rig) -> None:
    run_ = await flow(rig, "end", "end.json")
    conversation_id = (await run_.step("started"))["conversation_id"]
    conv_jid = conversation_jid(rig.engine, conversation_id)
    await rig.agent.wait_body("One question", sender=conv_jid, timeout=WAIT)
    run_.go()
    result = await run_.result()
    assert result["ended"]["state"] == "ended"
    assert result["next"] != conversation_id  # the next message starts a new chat
    types = [e["type"] for e in result["events"]]
    assert "participant.left" in types
    next_jid = conversation_jid(rig.engine, result["next"])
    await rig.agent.wait_body("Another question later", sender=next_jid, timeout=WAIT)
