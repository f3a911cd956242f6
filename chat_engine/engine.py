"""Wiring: one ``Engine`` builds the database, the services, the web app and the XMPP
bridge from ``Settings``, starts them in dependency order and stops them in reverse.

This is the only place that knows every layer; each layer gets business objects and its
own section of the settings (which is its own settings dataclass), never ``Settings``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
from collections.abc import Awaitable
from types import TracebackType
from typing import Self

from aiohttp import web

from business.bots import BotService
from business.clock import SystemClock
from business.file_links import derive_file_secret
from business.file_ports import BlobStore
from business.file_retention import FilePurger
from business.file_settings import FileSettings
from business.inactivity import InactivityClock
from business.mail_settings import MailSettings
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT
from business.offers import OfferClock
from business.ports import Clock
from business.reawaken import ReawakenClock
from business.retention import RetentionPurger
from business.services import Services
from business.transcript_sending import TranscriptMailDispatcher
from business.webhook_dispatcher import WebhookDispatcher
from chat_engine.admin import open_database
from chat_engine.blob_stores import close_blob_store, open_blob_store
from chat_engine.bootstrap import bootstrap
from chat_engine.delivery_nodes import delivery_ownership
from chat_engine.settings import Settings
from data import Database
from data.settings import redact_url
from presentation import MetricsSources, create_app, drain_visitors, make_runner
from presentation.webhook_transport import AiohttpWebhookTransport
from xmpp_bridge import XmppBridge

logger = logging.getLogger(__name__)

BOT_SETTLE_SECONDS = 5.0
"""How long a stop waits for the bot to answer what visitors said last."""


def _listen(host: str, port: int) -> socket.socket:
    """Bind before building the app, so the public URL can name the real port when the
    settings ask for any free one (port 0)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family = infos[0][0]
    try:
        return socket.create_server((host, port), family=family, backlog=512)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from None


class Engine:
    """The whole chat engine in this process; start and stop it as often as you like.

    Every ``start`` builds fresh objects, so a stopped engine holds no connection, task or
    socket, and tests can restart it to prove that nothing lives only in memory.
    """

    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        if settings.xmpp.secret is None:
            raise ValueError("settings.xmpp.secret is required to start the engine")
        self.settings = settings
        self._clock = clock or SystemClock()
        self._database: Database | None = None
        self._runner: web.AppRunner | None = None
        self._bridge: XmppBridge | None = None
        self._offer_clock: OfferClock | None = None
        self._reawaken_clock: ReawakenClock | None = None
        self._inactivity_clock: InactivityClock | None = None
        self._transcript_mails: TranscriptMailDispatcher | None = None
        self._webhooks: WebhookDispatcher | None = None
        self._webhook_transport: AiohttpWebhookTransport | None = None
        self._services: Services | None = None
        self._blobs: BlobStore | None = None
        self._file_purger: FilePurger | None = None
        self._retention_purger: RetentionPurger | None = None
        self.port: int | None = None
        """The HTTP port actually bound (useful with port 0)."""
        self.url: str | None = None
        """The public base URL, without a trailing slash."""

    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def database(self) -> Database:
        assert self._database is not None, "the engine is not running"
        return self._database

    @property
    def bridge(self) -> XmppBridge:
        assert self._bridge is not None, "the engine is not running"
        return self._bridge

    @property
    def services(self) -> Services:
        assert self._services is not None, "the engine is not running"
        return self._services

    async def start(self) -> None:
        if self.running:
            return
        settings = self.settings
        sock: socket.socket | None = None
        try:
            database = self._database = open_database(settings)
            await database.migrate()
            # Other engine processes' writes leave this one's caches at once.
            await database.listen()
            transport = self._webhook_transport = AiohttpWebhookTransport(
                allow_private=settings.webhooks.allow_private_targets
            )
            sock = _listen(settings.http.host, settings.http.port)
            self.port = int(sock.getsockname()[1])
            self.url = settings.http.public_url or _default_url(settings.http.host, self.port)
            blobs = self._blobs = open_blob_store(settings.files)
            # On PostgreSQL each process delivers the conversations it owns (others may
            # run beside it), the ones it starts among them; on SQLite it is the only one.
            ownership, wakes = delivery_ownership(database, settings.xmpp)
            services = self._services = bootstrap(
                uow=database.unit_of_work,
                clock=self._clock,
                limits=settings.limits,
                webhooks=settings.webhooks,
                transport=transport,
                mail=settings.mail,
                files=file_settings(settings),
                blobs=blobs,
                public_url=self.url,
                ownership=ownership,
            )
            await services.tenants.ensure_tenant(
                DEFAULT_TENANT, name="Default", queues=(DEFAULT_QUEUE,)
            )
            # One component for every tenant: agents' addresses decide theirs.
            bridge = self._bridge = XmppBridge(
                settings=settings.xmpp, services=services, ownership=ownership, wakes=wakes
            )

            async def xmpp_connected() -> bool:
                return bridge.connected

            app = create_app(
                services=services,
                settings=dataclasses.replace(settings.http, public_url=self.url),
                health={"database": database.ping, "xmpp": xmpp_connected},
                # A lost link takes no visitor away: their messages wait in the database.
                reported_only=("xmpp",),
                metrics=MetricsSources(
                    xmpp_connected=lambda: bridge.connected,
                    delivery_lag=bridge.delivery_lag,
                    database_ping=database.ping,
                    # Deliveries pending in the webhook outbox, of every tenant.
                    webhook_backlog=services.webhooks.backlog,
                ),
            )
            runner = self._runner = make_runner(app, shutdown_timeout=5.0)
            await runner.setup()
            await web.SockSite(runner, sock).start()
            sock = None  # the site owns it now
            # Last, so agents are offered chats only once visitors can be answered.
            await bridge.start()
            # Offers time out only while they can reach agents: an offer the link lost
            # must not set its agent not ready.
            clock = self._offer_clock = OfferClock(
                services.offers,
                interval=settings.xmpp.offer_poll_interval,
                active=lambda: bridge.connected,
                # Offers of the chats this process delivers, or all while it runs
                # alone (known from the delivery leases; the first beat precedes the link).
                grant_to=lambda cid: ownership.live <= {ownership.node} or ownership.owns(cid),
            )
            clock.start()
            # Held chats waiting for their agent: the reservations due end (they are
            # stored, so those that ended while the engine was down end at once).
            reawaken = self._reawaken_clock = ReawakenClock(
                services.reawaken, interval=settings.xmpp.offer_poll_interval
            )
            reawaken.start()
            # Deadlines passed while the engine was down run now, the others when due.
            idle = self._inactivity_clock = InactivityClock(services.inactivity, clock=self._clock)
            services.publisher.subscribe(idle)
            idle.start()
            # Webhooks left undelivered by the last run are in the database: they go
            # out from here, with what the outbox stages from now on.
            webhooks = self._webhooks = WebhookDispatcher(services.webhook_deliveries)
            services.webhook_outbox.on_committed(webhooks.wake)
            services.publisher.subscribe(services.webhook_outbox)
            webhooks.start()
            if services.transcript_requests.available:
                # Transcripts the last run left unsent are in the database: they go out
                # from here, with those queued from now on.
                mails = self._transcript_mails = transcript_mail_dispatcher(services, settings.mail)
                mails.start()
            purger = self._file_purger = FilePurger(
                services.file_retention, interval=settings.files.purge_interval_seconds
            )
            purger.start()
            # Conversations and visitors past their retention, on the files' schedule.
            retention = self._retention_purger = RetentionPurger(
                services.retention, interval=settings.files.purge_interval_seconds
            )
            retention.start()
        except BaseException:
            if sock is not None:
                sock.close()
            await self.stop()
            raise
        logger.info(
            "engine started: http %s, database %s, XMPP component %s via %s:%d",
            self.url,
            redact_url(settings.database.url),
            settings.xmpp.component_jid,
            settings.xmpp.host,
            settings.xmpp.port,
        )

    async def drain(self, *, cut_short: asyncio.Event | None = None) -> None:
        """Stop gracefully (SIGTERM): ``/readyz`` fails and new visitors are refused at
        once, those connected go on chatting for up to ``http.drain_seconds`` (less once
        they have all left, or once ``cut_short`` is set), then their connections close
        and ``stop`` runs, which stores the last delivery cursors once the XMPP server
        confirmed what was sent, so the next engine resends only what it did not."""
        runner = self._runner
        if runner is not None:
            await _quietly(
                "drain",
                drain_visitors(
                    runner.app, grace=self.settings.http.drain_seconds, cut_short=cut_short
                ),
            )
        await self.stop()

    async def stop(self) -> None:
        """Stop in reverse order; a failing part is logged and the rest still stops.

        The web server first (no new visitors' messages), then the bot answers what
        visitors said last while the webhooks, the offer clock and the XMPP bridge
        still carry its answers and hand-overs; then the rest."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await _quietly("web server", runner.cleanup())
        if self._services is not None:
            await _quietly("bot", settle_bots(self._services.bots, BOT_SETTLE_SECONDS))
        mails, self._transcript_mails = self._transcript_mails, None
        if mails is not None:
            await _quietly("transcript mail sender", mails.stop())
        webhooks, self._webhooks = self._webhooks, None
        if webhooks is not None:
            await _quietly("webhook dispatcher", webhooks.stop())
        transport, self._webhook_transport = self._webhook_transport, None
        if transport is not None:
            await _quietly("webhook transport", transport.close())
        idle_clock, self._inactivity_clock = self._inactivity_clock, None
        if idle_clock is not None:
            if self._services is not None:
                self._services.publisher.unsubscribe(idle_clock)
            await _quietly("inactivity clock", idle_clock.stop())
        offer_clock, self._offer_clock = self._offer_clock, None
        if offer_clock is not None:
            await _quietly("offer clock", offer_clock.stop())
        reawaken_clock, self._reawaken_clock = self._reawaken_clock, None
        if reawaken_clock is not None:
            await _quietly("reawaken clock", reawaken_clock.stop())
        purger, self._file_purger = self._file_purger, None
        if purger is not None:
            await _quietly("file purger", purger.stop())
        retention, self._retention_purger = self._retention_purger, None
        if retention is not None:
            await _quietly("retention purger", retention.stop())
        bridge, self._bridge = self._bridge, None
        database, self._database = self._database, None
        if bridge is not None:
            await _quietly("XMPP bridge", bridge.stop())
        blobs, self._blobs = self._blobs, None
        if blobs is not None:
            await _quietly("blob store", close_blob_store(blobs))
        if database is not None:
            await _quietly("database", database.dispose())
        self._services = None
        if bridge or runner or database:
            logger.info("engine stopped")

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


def transcript_mail_dispatcher(services: Services, mail: MailSettings) -> TranscriptMailDispatcher:
    """The sender of queued transcripts, woken by every request and by every end that
    queued one (not started yet)."""
    mails = TranscriptMailDispatcher(services.transcript_mails, poll_interval=mail.poll_interval)
    services.transcript_requests.on_queued(mails.wake)
    services.transcript_auto_send.on_committed(mails.wake)
    services.publisher.subscribe(services.transcript_auto_send)
    services.offline_answers.on_committed(mails.wake)
    services.publisher.subscribe(services.offline_answers)
    return mails


async def settle_bots(bots: BotService, timeout: float) -> None:
    """Wait up to ``timeout`` seconds for the bot's turns; log the chats left unanswered."""
    try:
        await asyncio.wait_for(bots.settled(), timeout)
    except TimeoutError:
        logger.error(
            "stopping: the bot did not answer in time in conversations %s",
            ", ".join(bots.unanswered()),
        )


def _default_url(host: str, port: int) -> str:
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


async def _quietly(what: str, stopping: Awaitable[object]) -> None:
    try:
        await stopping
    except Exception:
        logger.exception("stopping the %s failed", what)


def file_settings(settings: Settings) -> FileSettings:
    """``[files]`` with its link secret filled in: ``files.secret``, else one derived from
    the component secret, so that every engine of an installation signs alike."""
    if settings.files.secret or settings.xmpp.secret is None:
        return settings.files
    derived = derive_file_secret(settings.xmpp.secret).hex()
    return dataclasses.replace(settings.files, secret=derived)
