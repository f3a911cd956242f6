"""Helpers for the bridge tests: XML comparison, a capturing link, a wired business layer."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from business.model import AgentId, ConversationId, QueueName, TenantId
from tests.harness import World, make_world
from xmpp_bridge.addresses import Addressing
from xmpp_bridge.converters import (
    COMPONENT_NS,
    Stanza,
    parse_stanza,
    stanza_to_custom,
    stanza_to_xml,
)
from xmpp_bridge.inbound import InboundDispatcher
from xmpp_bridge.link import Link
from xmpp_bridge.outbound import XmppAgentNotifier
from xmpp_bridge.roster import QueueRoster

COMPONENT = "chat.localhost"
ADDRESSING = Addressing(COMPONENT)
TENANT = TenantId("default")
SUPPORT = QueueName("support")
SALES = QueueName("sales")
ALICE = AgentId("alice@localhost")
BOB = AgentId("bob@localhost")


def _element(xml: str) -> ET.Element:
    element = ET.fromstring(f'<stream xmlns="{COMPONENT_NS}">{xml}</stream>')[0]
    for node in element.iter():
        # Indentation in the expected XML is layout, not content; text with children
        # never carries meaning in the stanzas compared here.
        if len(node) and node.text is not None and not node.text.strip():
            node.text = None
        if node.tail is not None and not node.tail.strip():
            node.tail = None
    return element


def canonical(xml: str, *, ignore_id: bool = False) -> str:
    """C14N of one stanza, namespaces resolved the way the component stream does."""
    element = _element(xml)
    if ignore_id:
        element.attrib.pop("id", None)
    # The delay stamp carries microseconds; tests pin them via fixed clocks anyway.
    return ET.canonicalize(ET.tostring(element, encoding="unicode"))


def assert_xml(stanza: Stanza, expected: str, *, ignore_id: bool = False) -> None:
    assert canonical(stanza_to_xml(stanza), ignore_id=ignore_id) == canonical(
        expected, ignore_id=ignore_id
    )


def wire(stanza: Stanza) -> Stanza:
    """The stanza after a trip over the wire: serialised, then parsed again."""
    return parse_stanza(stanza_to_xml(stanza))


class CapturingSender:
    """A ``StanzaSender`` that keeps what it was given instead of writing to a socket.

    ``answers`` says whether the server answers delivery pings; ``hold`` keeps a ping
    waiting until it is set, to test what happens meanwhile.
    """

    def __init__(self) -> None:
        self.sent: list[Stanza] = []
        self.answers = True
        self.hold: asyncio.Event | None = None
        self.pings = 0
        self.aborted = 0

    def send(self, stanza: Stanza) -> None:
        self.sent.append(stanza)

    async def round_trip(self, timeout: float) -> bool:
        self.pings += 1
        if self.hold is not None:
            await self.hold.wait()
        return self.answers

    def abort(self) -> None:
        self.aborted += 1

    def take(self) -> list[Stanza]:
        sent, self.sent = self.sent, []
        return sent

    def bodies(self) -> list[str]:
        return [b.text or "" for s in self.take() if (b := _body(s)) is not None]


def _body(stanza: Stanza) -> ET.Element | None:
    return stanza.xml.find(f"{{{COMPONENT_NS}}}body")


def body_of(stanza: Stanza) -> str | None:
    body = _body(stanza)
    return None if body is None else body.text or ""


def connected_link() -> tuple[Link, CapturingSender]:
    link = Link(ADDRESSING)
    sender = CapturingSender()
    link.attach(sender)
    return link, sender


async def bridge_world() -> World:
    """The shared harness on the fakes, with the bridge's queues and a visitor called Vera."""
    return await make_world(queues=(SUPPORT, SALES), visitor_form={"name": "Vera"})


@dataclass
class Harness:
    """The bridge's parts wired on a ``World``, with the link captured instead of a socket."""

    world: World
    link: Link
    sender: CapturingSender
    roster: QueueRoster
    inbound: InboundDispatcher
    notifier: XmppAgentNotifier

    async def receive(self, xml: str) -> None:
        received = stanza_to_custom(parse_stanza(xml), ADDRESSING)
        assert received is not None, f"the bridge ignores {xml}"
        await self.inbound.dispatch(received)

    def reconnect(self) -> None:
        """The link drops and comes back, as the bridge sees it."""
        self.link.detach()
        self.notifier.on_link_lost()
        self.roster.on_disconnected()
        self.link.attach(self.sender)


def harness(world: World, *, away_is_ready: bool = False, connected: bool = True) -> Harness:
    link = Link(ADDRESSING)
    sender = CapturingSender()
    if connected:
        link.attach(sender)
    roster = QueueRoster(
        services=world.services, link=link, tenant_id=TENANT, away_is_ready=away_is_ready
    )
    notifier = XmppAgentNotifier(services=world.services, link=link, flush_interval=0.01)
    world.publisher.subscribe(notifier)
    inbound = InboundDispatcher(
        services=world.services,
        roster=roster,
        link=link,
        tenant_id=TENANT,
        away_is_ready=away_is_ready,
    )
    return Harness(
        world=world, link=link, sender=sender, roster=roster, inbound=inbound, notifier=notifier
    )


def from_agent(
    conversation_id: ConversationId,
    body: str,
    *,
    agent: str = "alice@localhost/laptop",
    stanza_id: str = "s1",
    extra: str = "",
) -> str:
    return (
        f'<message from="{agent}" to="{ADDRESSING.conversation_jid(conversation_id)}" '
        f'type="chat" id="{stanza_id}"><body>{body}</body>{extra}</message>'
    )
