"""Helpers for the bridge tests: XML comparison, a capturing link, a wired business
layer, and the values the converter tests build their stanzas from."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from business.conversation import Conversation
from business.events import MessagePosted, OfferMade
from business.model import (
    AgentId,
    ConversationId,
    ConversationState,
    EventId,
    Participant,
    ParticipantKind,
    QueueName,
    TenantId,
    VisitorId,
)
from tests.harness import World, make_world
from xmpp_bridge.addresses import Addressing
from xmpp_bridge.component import ChatComponent
from xmpp_bridge.converters import (
    COMPONENT_NS,
    Stanza,
    parse_stanza,
    stanza_to_custom,
    stanza_to_xml,
)
from xmpp_bridge.inbound import InboundDispatcher
from xmpp_bridge.link import Link
from xmpp_bridge.markers import MarkerBook
from xmpp_bridge.outbound import XmppAgentNotifier
from xmpp_bridge.roster import QueueRoster
from xmpp_bridge.settings import BridgeSettings

COMPONENT = "chat.localhost"
ADDRESSING = Addressing(COMPONENT)
TENANT = TenantId("default")
SUPPORT = QueueName("support")
SALES = QueueName("sales")
# Engine ids and XMPP addresses of the agents are never the same string here, so that
# a test fails when the bridge takes one for the other.
ALICE = AgentId("a-alice")
ALICE_JID = "alice@localhost"
BOB = AgentId("b-bob")
BOB_JID = "bob@localhost"

# -- values for the converters ---------------------------------------------------------

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
CID = ConversationId("c0ffee")
CONV_JID = ADDRESSING.conversation_jid(CID)
VERA = Participant(kind=ParticipantKind.VISITOR, name="Vera", id="v1")
ALICE_AGENT = Participant(kind=ParticipantKind.AGENT, name="Alice", id=ALICE)


def make_conversation(**changes: Any) -> Conversation:
    """Conversation ``CID``: Vera's, in support, active with Alice, started at ``T0``;
    ``changes`` replace fields (as ``dataclasses.replace``)."""
    started = Conversation(
        id=CID,
        tenant_id=TENANT,
        visitor_id=VisitorId("v1"),
        visitor_name="Vera",
        queue=SUPPORT,
        state=ConversationState.ACTIVE,
        created_at=T0,
        agent_id=ALICE,
    )
    return dataclasses.replace(started, **changes)


def offer_made(
    pos: int,
    *,
    at: datetime = T0 + timedelta(seconds=75),
    agent: Participant = ALICE_AGENT,
    timeout: int = 20,
) -> OfferMade:
    """The offer of ``CID`` to ``agent`` (Alice) at ``pos``, made at ``at`` for ``timeout``
    seconds."""
    return OfferMade(
        conversation_id=CID,
        pos=pos,
        created_at=at,
        agent=agent,
        expires_at=at + timedelta(seconds=timeout),
    )


def offered_conversation(offer: OfferMade, **changes: Any) -> Conversation:
    """``make_conversation`` as it is while ``offer`` is open: queued, nobody's yet."""
    agent_id = None if offer.agent.id is None else AgentId(offer.agent.id)
    return make_conversation(
        **{
            "state": ConversationState.QUEUED,
            "agent_id": None,
            "offered_to": agent_id,
            "offered_name": offer.agent.name,
            "offer_expires_at": offer.expires_at,
            **changes,
        }
    )


def posted(seq: int, text: str, sender: Participant = VERA, **fields: Any) -> MessagePosted:
    """Message ``text`` at ``seq`` of ``CID``, written ``seq`` seconds after ``T0``."""
    fields.setdefault("pos", seq)
    return MessagePosted(
        conversation_id=CID,
        seq=seq,
        created_at=T0 + timedelta(seconds=seq),
        id=EventId(f"ev{seq}"),
        sender=sender,
        text=text,
        **fields,
    )


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
    waiting until it is set (or the ping's timeout is up, which answers False), to test
    what happens meanwhile; ``pinged`` is set at each ping; ``received`` counts the
    stanzas the server sent on this session (tests raise it).
    """

    def __init__(self) -> None:
        self.sent: list[Stanza] = []
        self.answers = True
        self.hold: asyncio.Event | None = None
        self.pings = 0
        self.pinged = asyncio.Event()
        self.aborted = 0
        self.received = 0
        self._holding: set[asyncio.Task[None]] = set()

    def send(self, stanza: Stanza) -> None:
        self.sent.append(stanza)

    def echo(self) -> asyncio.Future[bool]:
        self.pings += 1
        self.pinged.set()
        echo: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        hold = self.hold
        if hold is None:
            echo.set_result(self.answers)
        else:
            # Answered once ``hold`` is set, unless the link's timeout came first.
            async def release() -> None:
                await hold.wait()
                if not echo.done():
                    echo.set_result(self.answers)

            task = asyncio.ensure_future(release())
            self._holding.add(task)
            echo.add_done_callback(lambda _: task.cancel())
            task.add_done_callback(self._holding.discard)
        return echo

    def abort(self) -> None:
        self.aborted += 1

    def take(self) -> list[Stanza]:
        sent, self.sent = self.sent, []
        return sent


def _body(stanza: Stanza) -> ET.Element | None:
    return stanza.xml.find(f"{{{COMPONENT_NS}}}body")


def body_of(stanza: Stanza) -> str | None:
    body = _body(stanza)
    return None if body is None else body.text or ""


NICK_NS = "http://jabber.org/protocol/nick"


def conv_jid(conversation: Conversation) -> str:
    return ADDRESSING.conversation_jid(conversation.id)


def is_presence(stanza: Stanza) -> bool:
    return stanza.xml.tag == f"{{{COMPONENT_NS}}}presence"


def messages(stanzas: list[Stanza]) -> list[Stanza]:
    """``stanzas`` without the presence stanzas, for tests about what is said."""
    return [s for s in stanzas if not is_presence(s)]


@dataclass(frozen=True, slots=True)
class SeenPresence:
    """A presence stanza as a client reads it: from, to (bare), type and XEP-0172 nick."""

    sender: str
    to: str
    type: str | None
    nick: str | None


def presences(stanzas: list[Stanza]) -> list[SeenPresence]:
    """The presence stanzas among ``stanzas``, in sending order."""
    return [
        SeenPresence(
            sender=s.xml.get("from", ""),
            to=s.xml.get("to", "").split("/")[0],
            type=s.xml.get("type"),
            nick=s.xml.findtext(f"{{{NICK_NS}}}nick"),
        )
        for s in stanzas
        if is_presence(s)
    ]


def connected_link() -> tuple[Link, CapturingSender]:
    link = Link(ADDRESSING)
    sender = CapturingSender()
    link.attach(sender)
    return link, sender


async def bridge_world() -> World:
    """The shared harness on the fakes, with the bridge's queues, a visitor called Vera,
    and ``add_agent(ALICE)`` (or ``BOB``) making an agent reached at ``ALICE_JID``."""
    return await make_world(
        queues=(SUPPORT, SALES),
        visitor_form={"name": "Vera"},
        agent_addresses={ALICE: ALICE_JID, BOB: BOB_JID},
    )


@dataclass
class Harness:
    """The bridge's parts wired on a ``World``, with the link captured instead of a socket."""

    world: World
    link: Link
    sender: CapturingSender
    roster: QueueRoster
    inbound: InboundDispatcher
    notifier: XmppAgentNotifier

    async def delivered(self) -> list[Stanza]:
        """What the link was given, taken from the sender once the deliveries queued so
        far are done (``notify`` only queues them)."""
        await self.notifier.drain()
        return self.sender.take()

    async def messages(self) -> list[Stanza]:
        """The message stanzas among ``delivered()`` (presence left out)."""
        return messages(await self.delivered())

    async def bodies(self) -> list[str]:
        """The message bodies among ``delivered()``."""
        return [b for s in await self.delivered() if (b := body_of(s)) is not None]

    async def flush(self) -> None:
        """The deliveries queued so far done, then the cursors of what the server
        confirmed written."""
        await self.notifier.drain()
        await self.notifier.flush()

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


def harness(
    world: World,
    *,
    away_is_ready: bool = False,
    connected: bool = True,
    link: Link | None = None,
    flush_interval: float = 0.01,
    confirm_timeout: float = 10.0,
    page_notice_delay: float = 0.1,
) -> Harness:
    """The bridge's parts on ``world``, the notifier subscribed to its publisher; the link
    (a plain ``Link`` unless given) attached to a ``CapturingSender`` if ``connected``."""
    link = link or Link(ADDRESSING)
    sender = CapturingSender()
    if connected:
        link.attach(sender)
    roster = QueueRoster(services=world.services, link=link, away_is_ready=away_is_ready)
    markers = MarkerBook()
    notifier = XmppAgentNotifier(
        services=world.services,
        link=link,
        flush_interval=flush_interval,
        confirm_timeout=confirm_timeout,
        markers=markers,
        page_notice_delay=page_notice_delay,
    )
    world.publisher.subscribe(notifier)
    inbound = InboundDispatcher(
        services=world.services,
        roster=roster,
        link=link,
        away_is_ready=away_is_ready,
        markers=markers,
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


def said_in(h: Harness, conversation: Conversation) -> list[str]:
    """The bodies sent so far in ``conversation``'s window, oldest first."""
    jid = ADDRESSING.conversation_jid(conversation.id)
    return [body_of(s) or "" for s in h.sender.sent if s.xml.get("from") == jid and body_of(s)]


def fail_once(monkeypatch: pytest.MonkeyPatch, target: object, name: str, error: Exception) -> None:
    """``target.name`` (a coroutine method) raises ``error`` the first time it is
    awaited, and works from then on: a database hiccup."""
    original = getattr(target, name)
    failures = [error]

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        if failures:
            raise failures.pop()
        return await original(*args, **kwargs)

    monkeypatch.setattr(target, name, flaky)


async def eventually(check: Callable[[], object], timeout: float = 5.0) -> None:
    """Wait until ``check()`` is true; ``TimeoutError`` after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while True:
            if check():
                return
            await asyncio.sleep(0.01)


class SilentComponentEvents:
    """``ComponentEvents`` that ignore everything: for a component never connected."""

    def on_stanza(self, stanza: object) -> None: ...

    def on_session_start(self) -> None: ...

    def on_disconnected(self, reason: object) -> None: ...

    def on_connection_failed(self, reason: object) -> None: ...

    def on_stream_error(self, error: object) -> None: ...


def unconnected_component() -> ChatComponent:
    """A ``ChatComponent`` as the bridge makes it, not connected to anything."""
    settings = BridgeSettings(component_jid="chat.localhost", secret="s" * 32, host="127.0.0.1")
    return ChatComponent(settings=settings, events=SilentComponentEvents())
