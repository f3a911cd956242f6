"""Messaging mode at the visitor's edge, over the real server and Socket.IO client on
SQLite and PostgreSQL: the session names the messaging queues, ``new_thread`` opens
another thread, ``conversation.end`` is refused with ``not_allowed_in_messaging``, a lock
reaches the visitor as ``state.changed`` with ``locked`` and their message is refused with
``thread_locked``, ``threads.list`` shows both threads with unread counts, and a second
device of the same visitor (the same token) gets the same list, as does the chat
manager's ``GET /visitor-api/v1/threads``."""

from __future__ import annotations

import aiohttp

from business import commands as c
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, ConversationId
from tests.harness import World
from tests.presentation.conftest import StartServer, ready_agent
from tests.visitor_client import Visitor


async def test_threads_over_socket_io(start_server: StartServer, world: World) -> None:
    agent = await ready_agent(world)
    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, mode="messaging")
    )
    server = await start_server(world=world)
    visitor, other_device = Visitor(url=server.url), Visitor(url=server.url)
    try:
        session = await visitor.connect({"tenant": "default"})
        assert session["config"]["messaging_queues"] == ["support"]
        first = await visitor.start("first question")
        assert await visitor.start() == first  # the open thread again
        second = await visitor.start("another topic", new_thread=True)
        assert second != first
        refused = await visitor.call("conversation.start", {"new_thread": "yes"})
        assert refused["error"]["code"] == "invalid_input"

        ended = await visitor.call("conversation.end", {"conversation_id": first})
        assert ended["ok"] is False
        assert ended["error"]["code"] == "not_allowed_in_messaging"

        await world.agent_says(agent, first, "an answer")
        await world.services.threads.set_lock(
            c.LockThread(agent_id=agent, conversation_id=ConversationId(second), locked=True)
        )
        changed = await visitor.event_of_type("state.changed")
        while changed["conversation_id"] != second or "locked" not in changed:
            changed = await visitor.event_of_type("state.changed")
        assert changed["locked"] is True
        write = await visitor.call(
            "message.send", {"conversation_id": second, "client_msg_id": "x-1", "text": "hi"}
        )
        assert write["error"]["code"] == "thread_locked"

        listed = (await visitor.ok("threads.list", {}))["threads"]
        by_id = {t["id"]: t for t in listed}
        assert set(by_id) == {first, second}
        assert by_id[first]["unread"] == 1
        assert by_id[first]["preview"] == "an answer"
        assert by_id[first]["locked"] is False
        assert by_id[second]["locked"] is True
        assert by_id[second]["queue"] == "support"

        again = await other_device.connect({"tenant": "default", "visitor_token": visitor.token})
        modes = {conv["id"]: (conv["mode"], conv["locked"]) for conv in again["conversations"]}
        assert modes == {first: ("messaging", False), second: ("messaging", True)}
        assert (await other_device.ok("threads.list", {}))["threads"] == listed

        # The chat manager's question before any socket: the same list over HTTP.
        url = server.url + "/visitor-api/v1/threads"
        async with aiohttp.ClientSession() as http:
            headers = {"Authorization": f"Bearer {visitor.token}", "X-Chat-Tenant": "default"}
            async with http.get(url, headers=headers) as response:
                assert response.status == 200
                assert response.headers["Cache-Control"] == "no-store"
                assert (await response.json())["threads"] == listed
            async with http.get(url, headers={"X-Chat-Tenant": "default"}) as response:
                assert response.status == 401
    finally:
        await visitor.disconnect()
        await other_device.disconnect()
