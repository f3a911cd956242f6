"""``xmpp_bridge.ownership.OwnedDelivery`` on PostgreSQL: its lease is renewed on time
whatever else the process is doing for delivery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import cast

import pytest

from business.delivery_ownership import DeliveryOwnership
from business.model import ConversationId
from business.ownership_ports import NodeId
from business.publishing import EventPublisher
from business.transactions import Transactions
from data import Database
from tests.conftest import open_database
from xmpp_bridge.outbound import XmppAgentNotifier
from xmpp_bridge.ownership import OwnedDelivery

pytestmark = pytest.mark.postgres


class SlowReplay:
    """A notifier whose replay takes long (thousands of conversations taken over)."""

    def __init__(self) -> None:
        self.replays = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def replay(self) -> None:
        self.replays += 1
        self.started.set()
        await self.release.wait()

    def catch_up(self, conversation_ids: Sequence[ConversationId]) -> None:
        pass


class QuietWakes:
    async def send(self, owner: NodeId, conversation_ids: Sequence[ConversationId]) -> None:
        pass

    async def listen(
        self,
        node: NodeId,
        on_wake: Callable[[Sequence[ConversationId]], None],
        on_connected: Callable[[], None],
    ) -> None:
        on_connected()

    async def stop(self) -> None:
        pass


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    async with open_database("postgres", tmp_path) as db:
        yield db


async def test_a_long_replay_does_not_hold_the_lease_renewal_back(database: Database) -> None:
    ownership = DeliveryOwnership(
        node=NodeId("busy"),
        transactions=Transactions(database.unit_of_work, EventPublisher()),
        lease_seconds=0.6,
    )
    notifier = SlowReplay()
    owned = OwnedDelivery(
        notifier=cast(XmppAgentNotifier, notifier),
        ownership=ownership,
        wakes=QuietWakes(),
        heartbeat=0.1,
        link_up=lambda: True,
    )
    await owned.start()
    try:
        async with asyncio.timeout(5):
            await notifier.started.wait()
        await asyncio.sleep(1.5)  # well past the lease while the replay runs
        assert ownership.leased
        assert notifier.replays == 1  # the next one waits for this one
    finally:
        notifier.release.set()
        await owned.stop()


async def test_a_process_without_its_link_looks_at_the_others_once_a_heartbeat(
    database: Database,
) -> None:
    """A Prosody standby never gets the link: it watches the live processes once a
    heartbeat, even though its nudge listener asked for a catch-up when it connected."""
    ownership = DeliveryOwnership(
        node=NodeId("standby"),
        transactions=Transactions(database.unit_of_work, EventPublisher()),
        lease_seconds=1.5,
    )
    looks = 0
    observe = ownership.observe

    async def counted() -> frozenset[NodeId]:
        nonlocal looks
        looks += 1
        return await observe()

    ownership.observe = counted  # type: ignore[method-assign]
    owned = OwnedDelivery(
        notifier=cast(XmppAgentNotifier, SlowReplay()),
        ownership=ownership,
        wakes=QuietWakes(),
        heartbeat=0.5,
        link_up=lambda: False,
    )
    await owned.start()
    try:
        await asyncio.sleep(1.2)
    finally:
        await owned.stop()
    assert looks <= 5, f"{looks} reads of the live processes in 1.2 s"
