"""The one test harness: the engine's services as ``chat_engine.bootstrap`` builds them,
over the in-memory fakes or a real database, with a fake clock and a notifier that
records what was published. Business, bridge, presentation and end-to-end tests all
drive the engine through a ``World``; each package adds only its own edge around it.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import select

from business import commands as c
from business.adapter_state import AdapterStateService
from business.agents import AgentService
from business.bot_model import BotKind
from business.bot_ports import Bot
from business.conversation import Conversation
from business.conversations import ConversationService
from business.delivery import DeliveryService
from business.delivery_ownership import DeliveryOwnership
from business.events import (
    DeskEvent,
    EphemeralEvent,
    MessagePosted,
    StateChanged,
    StoredEvent,
)
from business.file_ports import FetchedFile
from business.file_settings import FileSettings
from business.history import HistoryService
from business.mail_settings import MailSettings
from business.messaging import MessagingService, Posted
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    AgentId,
    ConversationId,
    ConversationState,
    MemberRole,
    QueueName,
    TenantId,
    VisitorId,
    new_id,
)
from business.ports import Clock, UnitOfWorkFactory
from business.publishing import EventPublisher
from business.routing import Router
from business.services import Services
from business.sessions import SessionService
from business.tenants import TenantService
from business.transcript_mail_ports import TranscriptMailer
from business.validation import Limits
from business.webhook_ports import HostResolver, WebhookTransport
from business.webhook_settings import WebhookSettings
from chat_engine.bootstrap import bootstrap
from data import Database
from data.models import ConversationMemberRow, ConversationRow
from data.repositories.conversation_rows import conversation_from_row
from tests.fakes import FakeClock, FakeStore, FakeUnitOfWork, RecordingNotifier
from tests.fakes_files import FakeFetcher, MemoryBlobStore

SALES = QueueName("sales")


FILE_REF_RE = re.compile(r"file:[0-9a-f]{32}")
SIGNED_LINK_RE = re.compile(
    r"/files/([0-9a-f]{32})(?:/[^?/\s]+)?\?exp=([0-9]+)&sig=([A-Za-z0-9_-]{43})"
)
"""A signed link to a file (``business.file_links``) and its parts."""
TEST_FILES = FileSettings(secret="test-file-links")
"""Every process of a test signs file links alike, as an installation's engines do."""


@dataclasses.dataclass
class World:
    services: Services
    uow: UnitOfWorkFactory
    clock: Clock
    recorder: RecordingNotifier
    store: FakeStore | None = None
    """The committed state, when the world runs on the fakes."""
    visitor_form: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """What ``start`` sends as the form unless told otherwise."""
    agent_addresses: Mapping[AgentId, str] = dataclasses.field(default_factory=dict)
    """The address ``agent`` gives an agent id listed here unless told otherwise (the
    others get their id as address), so that tests can tell the two apart."""
    webhooks: WebhookSettings | None = None
    resolver: HostResolver | None = None
    transport: WebhookTransport | None = None
    mail: MailSettings | None = None
    mailer: TranscriptMailer | None = None
    """The webhook and mail parts ``make_world`` was given (a second process gets them too)."""
    blobs: MemoryBlobStore = dataclasses.field(default_factory=MemoryBlobStore)
    fetcher: FakeFetcher = dataclasses.field(default_factory=FakeFetcher)
    """The files' bytes and the agents' upload servers (a second process shares them)."""

    # -- the services -------------------------------------------------------------

    @property
    def sessions(self) -> SessionService:
        return self.services.sessions

    @property
    def conversations(self) -> ConversationService:
        return self.services.conversations

    @property
    def messaging(self) -> MessagingService:
        return self.services.messaging

    @property
    def history(self) -> HistoryService:
        return self.services.history

    @property
    def delivery(self) -> DeliveryService:
        return self.services.delivery

    @property
    def agents(self) -> AgentService:
        return self.services.agents

    @property
    def tenants(self) -> TenantService:
        return self.services.tenants

    @property
    def adapter_state(self) -> AdapterStateService:
        return self.services.adapter_state

    @property
    def router(self) -> Router:
        return self.services.router

    @property
    def publisher(self) -> EventPublisher:
        return self.services.publisher

    def advance(self, seconds: float) -> None:
        """Move the fake clock on."""
        assert isinstance(self.clock, FakeClock), "this world runs on the real clock"
        self.clock.advance(seconds)

    @property
    def fakes(self) -> FakeStore:
        assert self.store is not None, "this world runs on a real database"
        return self.store

    def another_process(self) -> World:
        """What a second engine process has: its own services and publisher, the same
        storage."""
        recorder = RecordingNotifier()
        services = bootstrap(
            uow=self.uow,
            clock=self.clock,
            limits=self.services.limits,
            webhooks=self.webhooks,
            resolver=self.resolver,
            transport=self.transport,
            mail=self.mail,
            mailer=self.mailer,
            files=TEST_FILES,
            blobs=self.blobs,
            file_fetcher=self.fetcher,
        )
        services.publisher.subscribe(recorder)
        return dataclasses.replace(self, services=services, recorder=recorder)

    # -- set-up shortcuts ------------------------------------------------------------

    async def visitor(self, tenant_id: TenantId = DEFAULT_TENANT) -> VisitorId:
        session = await self.sessions.open_session(c.OpenSession(tenant_id=tenant_id))
        return session.visitor.id

    async def start(
        self,
        visitor_id: VisitorId,
        text: str | None = None,
        *,
        queue: QueueName | None = None,
        client_msg_id: str = "first",
        form: Mapping[str, str] | None = None,
    ) -> Conversation:
        message = None if text is None else c.FirstMessage(client_msg_id=client_msg_id, text=text)
        return await self.conversations.start_conversation(
            c.StartConversation(
                visitor_id=visitor_id,
                queue=queue,
                form=dict(self.visitor_form if form is None else form),
                message=message,
            )
        )

    async def say(self, conv: Conversation, text: str, client_msg_id: str) -> MessagePosted:
        posted = await self.messaging.send_visitor_message(
            c.SendVisitorMessage(
                visitor_id=conv.visitor_id,
                conversation_id=conv.id,
                client_msg_id=client_msg_id,
                text=text,
            )
        )
        await self.services.bots.settled()  # the bot answers after the ack
        return posted

    async def visitor_says(
        self, visitor_id: VisitorId, conversation_id: ConversationId, text: str
    ) -> MessagePosted:
        """A visitor message one second later than the last, with a fresh id."""
        if isinstance(self.clock, FakeClock):
            self.advance(1)
        posted = await self.messaging.send_visitor_message(
            c.SendVisitorMessage(
                visitor_id=visitor_id,
                conversation_id=conversation_id,
                client_msg_id=f"v-{new_id()}",
                text=text,
            )
        )
        await self.services.bots.settled()  # the bot answers after the ack
        return posted

    async def agent(
        self,
        agent_id: AgentId,
        *,
        queues: Sequence[QueueName] = (DEFAULT_QUEUE,),
        max_chats: int = 2,
        ready: bool = True,
        name: str | None = None,
        address: str | None = None,
        auto_accept: bool = True,
        tenant_id: TenantId = DEFAULT_TENANT,
    ) -> AgentId:
        """An agent of ``tenant_id`` with this engine id and, unless given, the address
        ``agent_addresses`` lists for it (by default the same string as the id).

        Auto-accept unless told otherwise: most tests are about what happens once a chat
        is taken; the offers themselves are tested with ``auto_accept=False``."""
        await self.agents.add_agent(
            c.AddAgent(
                address=address or self.agent_addresses.get(agent_id, agent_id),
                agent_id=agent_id,
                queues=tuple(queues),
                max_chats=max_chats,
                tenant_id=tenant_id,
                name=name,
                auto_accept=auto_accept,
            )
        )
        if ready:
            await self.agents.set_availability(
                c.SetAgentAvailability(agent_id=agent_id, ready=True)
            )
        return agent_id

    async def add_agent(
        self, agent_id: AgentId, *queues: QueueName, ready: bool = False, auto_accept: bool = True
    ) -> AgentId:
        """An agent of capacity 3 in ``queues`` (default: support), not ready unless told."""
        return await self.agent(
            agent_id,
            queues=queues or (DEFAULT_QUEUE,),
            max_chats=3,
            ready=ready,
            auto_accept=auto_accept,
        )

    async def agent_says(
        self,
        agent_id: AgentId,
        conv_id: ConversationId | str,
        text: str,
        stanza_id: str | None = None,
    ) -> MessagePosted:
        """What an agent who has the chat (or is invited into it) writes."""
        posted = await self.agent_writes(agent_id, conv_id, text, stanza_id)
        assert isinstance(posted, MessagePosted), posted
        return posted

    async def agent_writes(
        self,
        agent_id: AgentId,
        conv_id: ConversationId | str,
        text: str,
        stanza_id: str | None = None,
    ) -> Posted:
        """What any agent writes in a chat: a consultant's is a ``DeskMessage``."""
        return await self.messaging.send_agent_message(
            c.SendAgentMessage(
                agent_id=agent_id,
                conversation_id=ConversationId(conv_id),
                text=text,
                client_msg_id=stanza_id,
            )
        )

    async def agent_shares_file(
        self,
        agent_id: AgentId,
        conv_id: ConversationId | str,
        data: bytes = b"%PDF-1.4 manual",
        name: str = "manual.pdf",
    ) -> MessagePosted:
        """An agent's file on their server's upload service, copied into the store and
        sent as the bridge does (``FileService.copy_agent_files``): a ``file:<id>``."""
        agent = await self.agents.get_agent(agent_id)
        assert agent is not None
        url = f"https://upload.{agent.address.rpartition('@')[2]}/share/{name}"
        self.fetcher.files[url] = FetchedFile(data=data, content_type="application/pdf", name=name)
        cid = ConversationId(conv_id)
        kept, copied = await self.services.files.copy_agent_files(
            cid, [url], agent_id=agent_id, agent_address=agent.address
        )
        assert copied, "the file was not copied"
        assert not kept
        posted = await self.messaging.send_agent_message(
            c.SendAgentMessage(
                agent_id=agent_id, conversation_id=cid, text="", attachments=kept, copied=copied
            )
        )
        assert isinstance(posted, MessagePosted), posted
        return posted

    async def file_behind(self, shown: str) -> bytes:
        """The file a signed link in ``shown`` opens; fails if ``shown`` has a stored
        ``file:<id>`` or no link that works."""
        assert FILE_REF_RE.search(shown) is None, f"a raw file reference in {shown!r}"
        found = SIGNED_LINK_RE.search(shown)
        assert found is not None, f"no signed file link in {shown!r}"
        opened = await self.services.files.open(*found.groups())
        return opened.data

    # -- reading what happened -------------------------------------------------------

    def conv(self, conv_id: ConversationId) -> Conversation:
        return self.fakes.conversations[conv_id]

    def stored(self, conv_id: ConversationId) -> list[StoredEvent]:
        return list(self.fakes.events.get(conv_id, []))

    def published(self, conv_id: ConversationId | None = None) -> list[StoredEvent]:
        """Stored-kind events handed to the notifiers, in publishing order."""
        return [
            e
            for e in self.recorder.events()
            if not isinstance(e, EphemeralEvent)
            and (conv_id is None or e.conversation_id == conv_id)
        ]

    def positions(self, conv_id: ConversationId) -> list[int | None]:
        """Every queue position the visitor was shown, in order."""
        return [
            e.queue_position
            for e in self.stored(conv_id)
            if isinstance(e, StateChanged) and e.state is ConversationState.QUEUED
        ]


async def make_world(
    *,
    store: FakeStore | None = None,
    uow: UnitOfWorkFactory | None = None,
    clock: Clock | None = None,
    limits: Limits | None = None,
    queues: Sequence[QueueName] = (DEFAULT_QUEUE, SALES),
    tenants: Mapping[TenantId, str] | None = None,
    visitor_form: Mapping[str, str] | None = None,
    agent_addresses: Mapping[AgentId, str] | None = None,
    webhooks: WebhookSettings | None = None,
    resolver: HostResolver | None = None,
    transport: WebhookTransport | None = None,
    mail: MailSettings | None = None,
    mailer: TranscriptMailer | None = None,
    bots: Mapping[BotKind, Bot] | None = None,
    ownership: DeliveryOwnership | None = None,
) -> World:
    """Services over ``uow`` (default: fresh fakes) with the default tenant and
    ``queues``, plus any other ``tenants`` (id -> name) with the default queue; the
    webhook and mail parts as ``bootstrap`` takes them."""
    if uow is None:
        fake_store = store if store is not None else FakeStore()
        store = fake_store

        def factory() -> FakeUnitOfWork:
            return FakeUnitOfWork(fake_store)

        uow = factory
    clock = clock or FakeClock()
    recorder = RecordingNotifier()
    blobs, fetcher = MemoryBlobStore(), FakeFetcher()
    services = bootstrap(
        uow=uow,
        clock=clock,
        limits=limits,
        webhooks=webhooks,
        resolver=resolver,
        transport=transport,
        mail=mail,
        mailer=mailer,
        bots=bots,
        files=TEST_FILES,
        blobs=blobs,
        file_fetcher=fetcher,
        ownership=ownership,
    )
    services.publisher.subscribe(recorder)
    await services.tenants.ensure_tenant(DEFAULT_TENANT, name="Default", queues=queues)
    for tenant_id, name in (tenants or {}).items():
        await services.tenants.ensure_tenant(tenant_id, name=name)
    return World(
        services=services,
        uow=uow,
        clock=clock,
        recorder=recorder,
        store=store,
        visitor_form=dict(visitor_form or {}),
        agent_addresses=dict(agent_addresses or {}),
        webhooks=webhooks,
        resolver=resolver,
        transport=transport,
        mail=mail,
        mailer=mailer,
        blobs=blobs,
        fetcher=fetcher,
    )


def assert_store_consistent(store: FakeStore) -> None:
    """The delivery guarantees, read from what is committed.

    Per conversation: positions are exactly 1..last_pos and the seqs of the events the
    visitor sees exactly 1..last_seq; a client_msg_id is stored once; the read cursor
    never passes last_seq nor the delivery cursor last_pos; an active or held
    conversation has an agent.
    Per queue: ``waiting`` counts its queued conversations. Across conversations: no
    agent holds more active chats than their capacity (held chats do not count).
    Members: see ``members_out_of_step``.
    """
    rows = [(r.conversation_id, r.agent_id, r.role, r.left_pos) for r in store.members.values()]
    assert members_out_of_step(store.conversations.values(), rows) == []
    for conv in store.conversations.values():
        events = store.events.get(conv.id, [])
        assert [e.pos for e in events] == list(range(1, conv.last_pos + 1)), conv.id
        visible = [e.seq for e in events if not isinstance(e, DeskEvent)]
        assert visible == list(range(1, conv.last_seq + 1)), conv.id
        ids = [e.client_msg_id for e in events if isinstance(e, MessagePosted) and e.client_msg_id]
        assert len(ids) == len(set(ids)), f"duplicate client_msg_id in {conv.id}: {ids}"
        assert 0 <= conv.visitor_read_seq <= conv.last_seq
        assert 0 <= conv.agent_delivered_pos <= conv.last_pos
        if conv.has_joined_agent:  # active or on hold
            assert conv.agent_id is not None
        if conv.state is not ConversationState.QUEUED:
            assert conv.queue_position is None
    waiting = Counter(
        (conv.tenant_id, conv.queue)
        for conv in store.conversations.values()
        if conv.state is ConversationState.QUEUED
    )
    for key, queue in store.queues.items():
        assert queue.waiting == waiting.get(key, 0), key
    active = Counter(
        conv.agent_id
        for conv in store.conversations.values()
        if conv.state is ConversationState.ACTIVE
    )
    for agent_id, count in active.items():
        assert agent_id is not None
        assert count <= store.agents[agent_id].max_chats, agent_id


def assert_published_once(world: World) -> None:
    """Every stored event reached the notifiers exactly once, and nothing else did."""
    stored = sorted(
        (e.conversation_id, e.pos) for events in world.fakes.events.values() for e in events
    )
    published = sorted((e.conversation_id, e.pos) for e in world.published())
    assert published == stored


ALICE = AgentId("alice@example.com")
BOB = AgentId("bob@example.com")
CAROL = AgentId("carol@example.com")


MemberRowTuple = tuple[ConversationId, AgentId, MemberRole, int | None]
"""A ``conversation_members`` row as the check needs it: conversation, agent, role,
left_pos."""


def members_out_of_step(
    conversations: Iterable[Conversation], rows: Iterable[MemberRowTuple]
) -> list[ConversationId]:
    """The open conversations whose ``members`` (agent ids and roles, in any order) are
    not exactly their member rows that have not left and are not a former owner's."""
    current: dict[ConversationId, set[tuple[AgentId, MemberRole]]] = {}
    for conversation_id, agent_id, role, left_pos in rows:
        if left_pos is None and role is not MemberRole.FORMER:
            current.setdefault(conversation_id, set()).add((agent_id, role))
    return [
        conv.id
        for conv in conversations
        if conv.is_open
        and {(m.agent_id, m.role) for m in conv.members} != current.get(conv.id, set())
    ]


async def assert_database_members_consistent(database: Database) -> None:
    """``members_out_of_step`` over what a database has committed."""
    conversations = ConversationRow.__table__
    members = ConversationMemberRow.__table__
    async with database.begin() as connection:
        convs = [
            conversation_from_row(row) for row in await connection.execute(select(conversations))
        ]
        rows: list[MemberRowTuple] = [
            (ConversationId(r.conversation_id), AgentId(r.agent_id), MemberRole(r.role), r.left_pos)
            for r in await connection.execute(select(members))
        ]
    assert members_out_of_step(convs, rows) == []
