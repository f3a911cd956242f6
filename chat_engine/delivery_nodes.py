"""The delivery ownership of this process (``business.delivery_ownership``), chosen by
the database: on PostgreSQL, where several engine processes may share the data, a node
with a lease and nudges over ``NOTIFY``; on SQLite (one process by nature) the sole
owner, with nothing stored."""

from __future__ import annotations

import os
import secrets
import socket

from business.delivery_ownership import DeliveryOwnership
from business.ownership_ports import NodeId
from business.publishing import EventPublisher
from business.transactions import Transactions
from data import Database
from data.delivery_wakes import PgDeliveryWakes
from xmpp_bridge.settings import BridgeSettings


def node_name() -> NodeId:
    """This process among the others, readable in logs: host, pid and a random tail (a
    restarted process is a new node, even with the same pid)."""
    return NodeId(f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}")


def delivery_ownership(
    database: Database, settings: BridgeSettings
) -> tuple[DeliveryOwnership, PgDeliveryWakes | None]:
    node = node_name()
    if database.dialect != "postgresql":
        return DeliveryOwnership(node=node), None
    # The ownership publishes no events: a publisher of its own, with no subscriber.
    transactions = Transactions(database.unit_of_work, EventPublisher())
    ownership = DeliveryOwnership(
        node=node, transactions=transactions, lease_seconds=settings.delivery_lease
    )
    return ownership, PgDeliveryWakes(database.engine)
