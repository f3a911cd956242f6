"""Per-key ordering of inbound work, and which key a received stanza keeps order with."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable

import pytest

from business.model import ConversationId
from tests.xmpp_bridge.support import ADDRESSING, COMPONENT, from_agent
from xmpp_bridge.concurrency import SerialLanes
from xmpp_bridge.converters import parse_stanza, stanza_to_custom
from xmpp_bridge.inbound import lane_of


async def test_work_of_one_key_runs_in_order_and_keys_run_side_by_side() -> None:
    lanes = SerialLanes()
    log: list[str] = []
    slow_started = asyncio.Event()
    release = asyncio.Event()

    async def slow() -> None:
        slow_started.set()
        await release.wait()
        log.append("alice-1")

    async def record(entry: str) -> None:
        log.append(entry)

    lanes.submit("alice", slow)
    lanes.submit("alice", lambda: record("alice-2"))
    lanes.submit("bob", lambda: record("bob-1"))
    await slow_started.wait()
    await asyncio.sleep(0)

    # Bob is not held up by Alice's slow first stanza; Alice's second waits for it.
    assert log == ["bob-1"]
    release.set()
    await lanes.close(grace=1)
    assert log == ["bob-1", "alice-1", "alice-2"]


async def test_a_failing_job_is_logged_and_the_lane_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lanes = SerialLanes()
    done: list[int] = []

    async def boom() -> None:
        raise ValueError("bad stanza")

    async def fine() -> None:
        done.append(1)

    with caplog.at_level(logging.ERROR):
        lanes.submit("k", boom)
        lanes.submit("k", fine)
        await lanes.close(grace=1)

    assert done == [1]
    assert "bad stanza" in caplog.text


async def test_close_cancels_what_does_not_finish_in_time() -> None:
    lanes = SerialLanes()
    cancelled = asyncio.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    lanes.submit("k", forever)
    await asyncio.sleep(0)
    await lanes.close(grace=0.01)

    assert cancelled.is_set()
    assert not lanes.busy


async def test_drain_waits_for_all_work_even_work_added_meanwhile_and_closes_nothing() -> None:
    lanes = SerialLanes("test")
    log: list[str] = []

    async def record(entry: str) -> None:
        await asyncio.sleep(0)
        log.append(entry)

    async def first() -> None:
        await record("a-1")
        lanes.submit("b", lambda: record("b-1"))

    lanes.submit("a", first)
    lanes.submit("a", lambda: record("a-2"))
    await lanes.drain()

    assert sorted(log) == ["a-1", "a-2", "b-1"]
    assert log.index("a-1") < log.index("a-2")
    assert not lanes.busy
    lanes.submit("a", lambda: record("a-3"))
    await lanes.drain()
    assert log[-1] == "a-3"


def lane(xml: str) -> Hashable:
    received = stanza_to_custom(parse_stanza(xml), ADDRESSING)
    assert received is not None
    return lane_of(received)


def test_an_agents_conversations_have_lanes_of_their_own() -> None:
    one, two = ConversationId("one"), ConversationId("two")
    in_one = lane(from_agent(one, "hello"))
    # The same conversation, whatever the stanza (a command, another resource).
    assert lane(from_agent(one, "!end", stanza_id="s2")) == in_one
    assert lane(from_agent(one, "again", agent="alice@localhost/phone")) == in_one
    # Another conversation, or another agent: side by side.
    assert lane(from_agent(two, "hello")) != in_one
    assert lane(from_agent(one, "hello", agent="bob@localhost/desk")) != in_one
    # What is not about a conversation keeps the agent's own order, apart.
    presence = lane(f'<presence from="alice@localhost/laptop" to="support@{COMPONENT}"/>')
    engine_help = lane(
        f'<message from="alice@localhost/laptop" to="{COMPONENT}" type="chat">'
        "<body>!help</body></message>"
    )
    assert presence == engine_help
    assert presence not in (in_one, lane(from_agent(two, "hello")))
