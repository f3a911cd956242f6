"""Graceful drain of the wired engine on a real Prosody: the chat goes on through the
grace period, new visitors are refused, the next engine resends nothing the agent had;
and SIGTERM to a real ``chat-engine run`` drains and exits 0 with every acked message
stored."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import signal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio
from sqlalchemy import text

from chat_engine.engine import Engine
from chat_engine.prosody import ProsodyServer
from chat_engine.settings import Settings
from data import Database
from tests.chat_engine.test_commands import chat_engine, command_env
from tests.conftest import fresh_database_url
from tests.e2e.conftest import RegisterAgent
from tests.e2e.test_chat_flow import (
    WAIT,
    conversation_jid,
    eventually,
    new_visitor,
    online_agent,
    start_chat,
)
from tests.visitor_client import NAMESPACE, Visitor

pytestmark = pytest.mark.e2e

DRAINING = {"code": "unavailable", "reason": "draining"}


def draining(refusal: dict[str, Any]) -> dict[str, Any]:
    return {key: refusal["data"].get(key) for key in DRAINING}


async def readyz(url: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/readyz") as response:
        return response.status


async def test_a_drained_engine_hands_delivery_over_without_resending(
    engine_settings: Settings, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    settings = dataclasses.replace(
        engine_settings, http=dataclasses.replace(engine_settings.http, drain_seconds=60)
    )
    account = register_agent("gina")
    engine = Engine(settings)
    await engine.start()
    try:
        await engine.bridge.wait_connected(WAIT)
        agent = await online_agent(engine, account, "Gina", cleanup)
        visitor = await new_visitor(engine, cleanup)
        conversation_id = await start_chat(visitor, "Before the drain")
        conv_jid = conversation_jid(engine, conversation_id)
        await agent.wait_body("Before the drain", sender=conv_jid)
        assert engine.url is not None
        url = engine.url

        cut_short = asyncio.Event()
        drained = asyncio.create_task(engine.drain(cut_short=cut_short))
        await asyncio.sleep(0)
        assert await readyz(url) == 503
        refusal = await Visitor(url=url).refused({"tenant": "default"})
        assert draining(refusal) == DRAINING
        sent = [f"During the drain {n}" for n in range(5)]
        for n, body in enumerate(sent):
            await visitor.ok(
                "message.send",
                {"conversation_id": conversation_id, "client_msg_id": f"d-{n}", "text": body},
            )
        # The agent's side keeps flowing while the visitor is still here.
        await agent.wait_body(sent[0], sender=conv_jid)
        assert not drained.done()
        cut_short.set()
        await asyncio.wait_for(drained, WAIT)
        assert not engine.running
    finally:
        await engine.stop()

    # The next engine (another process, or this one restarted) resends only what the
    # agent was not confirmed to have: here nothing, as the stop stored the cursors.
    engine = Engine(settings)
    await engine.start()
    try:
        await engine.bridge.wait_connected(WAIT)
        await agent.wait_body(sent[-1], sender=conv_jid)
        await asyncio.sleep(1.0)  # anything resent would arrive meanwhile
        bodies = agent.bodies_from(conv_jid)
        for body in ["Before the drain", *sent]:
            assert sum(body in b for b in bodies) == 1, (body, bodies)
    finally:
        await engine.stop()


# -- SIGTERM to a real process ------------------------------------------------------

DRAIN_SECONDS = 3


async def test_sigterm_drains_and_exits_0_with_every_acked_message_stored(
    prosody: ProsodyServer, tmp_path: Path, cleanup: list[Any]
) -> None:
    # SQLite only: a process start migrates a new database (10 s on PostgreSQL here);
    # the drain itself is the same on both, and runs on both in the test above.
    async with fresh_database_url("sqlite", tmp_path) as database_url:
        secret_file = tmp_path / "secret"
        secret_file.write_text(prosody.component_secret + "\n")
        config = tmp_path / "config.toml"
        config.write_text(
            f'[http]\ndrain_seconds = {DRAIN_SECONDS}\n[xmpp]\nhost = "{prosody.host}"\n'
            f'port = {prosody.component_port}\ncomponent_jid = "{prosody.component_jid}"\n'
            f'secret_file = "{secret_file}"\n[database]\nurl = "{database_url}"\n'
        )
        env = command_env(CHAT_ENGINE_CONFIG=str(config))
        async with chat_engine(
            tmp_path, "run", "--port", "0", until="(Ctrl-C to stop)", env=env
        ) as (process, output):
            found = re.search(r"running at (http://\S+)", output)
            assert found, output
            url = found.group(1)
            assert await readyz(url) == 200
            visitor = Visitor(url=url)
            cleanup.append(visitor)
            await visitor.connect({"tenant": "default"})
            ack = await visitor.ok(
                "conversation.start", {"message": {"client_msg_id": "m-0", "text": "hi"}}
            )
            conversation_id = ack["conversation"]["id"]
            acked = ["m-0"]
            chatting = asyncio.create_task(chat(visitor, conversation_id, acked))

            async def chatting_on() -> bool:
                return len(acked) >= 3

            await eventually(chatting_on, "the visitor is chatting")

            process.send_signal(signal.SIGTERM)

            async def not_ready() -> bool:
                return await readyz(url) == 503

            await eventually(not_ready, "/readyz answers 503")
            acked_before = len(acked)
            refusal = await Visitor(url=url).refused({"tenant": "default"})
            assert draining(refusal) == DRAINING

            # The visitor chats on until the grace period ends and the engine lets go.
            await asyncio.wait_for(chatting, DRAIN_SECONDS + WAIT)
            assert len(acked) > acked_before, "no message was acked during the drain"
            assert process.stdout is not None
            async with asyncio.timeout(WAIT):
                await process.stdout.read()
                await process.wait()
            assert process.returncode == 0, (tmp_path / "stderr.log").read_text()

        stored = await stored_client_ids(database_url, conversation_id)
        assert set(acked) <= stored, set(acked) - stored


async def chat(visitor: Visitor, conversation_id: str, acked: list[str]) -> None:
    """Send a message every 0.2 s (within the rate limits) until the connection goes;
    the ids of those acked go to ``acked``."""
    gone = asyncio.Event()

    async def on_disconnect(*_: object) -> None:
        gone.set()

    visitor.sio.on("disconnect", on_disconnect, namespace=NAMESPACE)
    disconnected = asyncio.ensure_future(gone.wait())
    try:
        for n in range(1, 300):
            client_msg_id = f"m-{n}"
            sending = asyncio.ensure_future(
                visitor.call(
                    "message.send",
                    {
                        "conversation_id": conversation_id,
                        "client_msg_id": client_msg_id,
                        "text": ".",
                    },
                )
            )
            # Not the call's own 5 s timeout: a call the closing connection took along is
            # over when the connection is.
            await asyncio.wait([sending, disconnected], return_when=asyncio.FIRST_COMPLETED)
            if not sending.done():
                sending.cancel()  # not acked
                return
            try:
                ack = sending.result()
            except socketio.exceptions.SocketIOError:
                return
            if not ack.get("ok"):
                assert ack["error"]["code"] == "unavailable", ack
                return
            acked.append(client_msg_id)
            await asyncio.sleep(0.2)
    finally:
        disconnected.cancel()


async def stored_client_ids(database_url: str, conversation_id: str) -> set[str]:
    database = Database.from_url(database_url)
    try:
        async with database.begin() as connection:
            rows = await connection.execute(
                text(
                    "SELECT client_msg_id FROM conversation_events "
                    "WHERE conversation_id = :id AND client_msg_id IS NOT NULL"
                ),
                {"id": conversation_id},
            )
            return {row[0] for row in rows}
    finally:
        await database.dispose()
