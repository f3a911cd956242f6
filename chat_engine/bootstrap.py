"""The one place the service graph is built: the engine, the admin CLI and every test
harness call ``bootstrap`` (cosmicpython's bootstrap)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta

from business.adapter_state import AdapterStateService
from business.agent_desk import AgentDeskService
from business.agent_removal import AgentRemovalService
from business.agents import AgentService
from business.analytics import AnalyticsService
from business.api_channel import ApiChannelService
from business.api_keys import ApiKeyService
from business.audit import AuditService
from business.bot_model import BotKind
from business.bot_ports import Bot
from business.bots import BotService
from business.canned import CannedService
from business.clock import SystemClock
from business.conversation_queries import ConversationQueryService
from business.conversations import ConversationService
from business.corrections import CorrectionService
from business.delivery import DeliveryService
from business.delivery_ownership import DeliveryOwnership
from business.external_bot import ExternalBot
from business.file_config import FileConfigService
from business.file_links import FileLinks, FileLinkSettings
from business.file_ports import BlobStore, FileFetcher
from business.file_retention import FileRetentionService
from business.file_settings import FileSettings
from business.files import FileService
from business.history import HistoryService
from business.hold import HoldService
from business.identity_settings import IdentitySettingsService
from business.inactivity import IdlePolicies, InactivityService
from business.integrator_control import IntegratorControlService
from business.integrator_messages import IntegratorMessageService
from business.live_counts import LiveCountService
from business.mail_settings import MailSettings
from business.messaging import MessagingService
from business.notes import NoteService
from business.offers import OfferService
from business.offline_answers import OfflineAnswerMail
from business.offline_messages import OfflineMessageService
from business.outbound_threads import OutboundThreadService
from business.outbound_visitors import OutboundVisitorThreadService
from business.participants import ParticipantService
from business.ports import AddressNormalizer, Clock, UnitOfWorkFactory
from business.publishing import EventPublisher
from business.queue_settings import QueueSettingsService
from business.queues import QueueService
from business.read_markers import ReadMarkerService
from business.reawaken import ReawakenService
from business.redaction_policy import RedactionPolicy
from business.redaction_settings import RedactionSettingsService
from business.report_stager import ReportStager
from business.reports import ReportService
from business.retention import RetentionService, RetentionSettingsService
from business.rich_replies import RichReplyService
from business.routing import Router
from business.rules_bot import RulesBot
from business.services import Services
from business.sessions import SessionService
from business.supervision import SupervisionService
from business.tenant_settings import TenantSettingsService
from business.tenants import TenantService
from business.threads import ThreadService
from business.transactions import Transactions
from business.transcript_auto_send import TranscriptAutoSend
from business.transcript_mail_ports import TranscriptMailer
from business.transcript_requests import TranscriptRequestService
from business.transcript_sending import TranscriptMailSender
from business.validation import Limits
from business.visitor_data import VisitorDataService
from business.visitor_events import VisitorEventService
from business.visitor_identify import VisitorIdentifyService
from business.visitor_profile import VisitorProfileService
from business.visitor_queries import VisitorQueryService
from business.webhook_delivery import WebhookDeliveryService
from business.webhook_outbox import WebhookOutbox
from business.webhook_ports import HostResolver, WebhookTransport
from business.webhook_settings import WebhookSettings
from business.webhooks import WebhookService
from business.widget_settings import WidgetConfigService
from chat_engine.blob_stores import open_blob_store
from chat_engine.phone_numbers import LibPhoneNumberFinder
from presentation.file_fetcher import AiohttpFileFetcher
from presentation.identity_jwt import JwtIdentityVerifier
from presentation.smtp_mailer import SmtpTranscriptMailer
from presentation.webhook_transport import AiohttpWebhookTransport, SystemHostResolver
from xmpp_bridge.addresses import JidNormalizer


def bootstrap(
    *,
    uow: UnitOfWorkFactory,
    clock: Clock | None = None,
    limits: Limits | None = None,
    addresses: AddressNormalizer | None = None,
    publisher: EventPublisher | None = None,
    bots: Mapping[BotKind, Bot] | None = None,
    webhooks: WebhookSettings | None = None,
    resolver: HostResolver | None = None,
    transport: WebhookTransport | None = None,
    mail: MailSettings | None = None,
    mailer: TranscriptMailer | None = None,
    files: FileSettings | None = None,
    blobs: BlobStore | None = None,
    file_fetcher: FileFetcher | None = None,
    public_url: str = "",
    ownership: DeliveryOwnership | None = None,
) -> Services:
    """Every use case over one store. Agent addresses are XMPP addresses unless
    ``addresses`` says otherwise; the bots are the built-in rules bot unless ``bots``
    says otherwise; webhook targets are resolved by the system's resolver and webhooks
    sent with aiohttp's client unless ``resolver`` and ``transport`` say otherwise (the
    caller closes a transport it gives). Nothing is subscribed to the publisher yet. The
    stagers are added to it: a conversation's report is written with its end, and its
    webhook deliveries with each of its events, whoever makes them (the engine, the CLI,
    a test). With ``mail`` configured, transcripts are sent through SMTP unless
    ``mailer`` says otherwise, and the automatic transcript is staged with every end.
    Shared files go to the store ``files`` names (``files.dir`` by default) unless
    ``blobs`` says otherwise; agents' files are fetched with aiohttp's client unless
    ``file_fetcher`` says otherwise; ``public_url``
    starts the file links agents, the REST API, webhooks and mailed transcripts get.
    ``ownership``: the process's delivery ownership, which owns the conversations it
    starts (``business.delivery_ownership``)."""
    clock = clock or SystemClock()
    limits = limits or Limits()
    webhooks = webhooks or WebhookSettings()
    mail = mail or MailSettings()
    if mail.enabled and mailer is None:
        mailer = SmtpTranscriptMailer(mail)
    mail_on = mail.enabled and mailer is not None
    publisher = publisher or EventPublisher()
    publisher.add_stager(ReportStager())
    file_settings = files or FileSettings()
    links = _file_links(clock, file_settings, public_url)
    outbox = WebhookOutbox(attachment_url=links.lasting)
    publisher.add_stager(outbox)
    auto_send = TranscriptAutoSend()
    offline_answers = OfflineAnswerMail()
    if mail_on:
        publisher.add_stager(auto_send)
        publisher.add_stager(offline_answers)
    transactions = Transactions(uow, publisher)
    blobs = blobs or open_blob_store(file_settings)
    redaction = RedactionPolicy(phones=LibPhoneNumberFinder())
    file_service = _file_service(
        transactions, clock, file_settings, links, blobs, file_fetcher, redaction
    )
    router = Router(transactions=transactions, clock=clock, limits=limits)
    hold = HoldService(transactions=transactions, router=router, clock=clock, limits=limits)
    bot_service = BotService(
        transactions=transactions,
        router=router,
        clock=clock,
        limits=limits,
        bots=bots
        if bots is not None
        else {BotKind.RULES: RulesBot(), BotKind.EXTERNAL: ExternalBot()},
    )
    inactivity = InactivityService(transactions=transactions, router=router, clock=clock)
    messaging = MessagingService(
        transactions=transactions,
        clock=clock,
        limits=limits,
        router=router,
        hold=hold,
        bots=bot_service,
        redaction=redaction,
        idle=IdlePolicies(clock),
    )
    queue_settings = QueueSettingsService(transactions=transactions)
    conversations = ConversationService(
        transactions=transactions,
        router=router,
        messaging=messaging,
        bots=bot_service,
        clock=clock,
        limits=limits,
        redaction=redaction,
        ownership=ownership,
    )
    audit = AuditService(transactions=transactions, clock=clock)
    return Services(
        sessions=SessionService(
            transactions=transactions, clock=clock, identity_verifier=JwtIdentityVerifier()
        ),
        conversations=conversations,
        messaging=messaging,
        history=HistoryService(transactions=transactions, limits=limits),
        delivery=DeliveryService(transactions=transactions),
        hold=hold,
        bots=bot_service,
        notes=NoteService(
            transactions=transactions, clock=clock, limits=limits, redaction=redaction
        ),
        offers=OfferService(transactions=transactions, router=router, clock=clock),
        supervision=SupervisionService(
            transactions=transactions,
            clock=clock,
            limits=limits,
            addresses=addresses or JidNormalizer(),
            router=router,
            redaction=redaction,
        ),
        participants=ParticipantService(
            transactions=transactions,
            router=router,
            clock=clock,
            limits=limits,
            addresses=addresses or JidNormalizer(),
            redaction=redaction,
        ),
        agent_desk=AgentDeskService(transactions=transactions, router=router, clock=clock),
        visitor_profile=VisitorProfileService(transactions=transactions),
        agents=AgentService(
            transactions=transactions,
            router=router,
            clock=clock,
            addresses=addresses or JidNormalizer(),
        ),
        tenants=TenantService(
            transactions=transactions, clock=clock, queue_settings=queue_settings
        ),
        queue_settings=queue_settings,
        canned=CannedService(transactions=transactions, clock=clock, limits=limits),
        adapter_state=AdapterStateService(transactions=transactions),
        router=router,
        publisher=publisher,
        limits=limits,
        read_markers=ReadMarkerService(transactions=transactions, clock=clock),
        corrections=CorrectionService(
            transactions=transactions, clock=clock, limits=limits, redaction=redaction
        ),
        reports=ReportService(transactions=transactions),
        live_counts=LiveCountService(transactions=transactions, clock=clock),
        conversation_queries=ConversationQueryService(
            transactions=transactions, limits=limits, attachment_url=links.lasting
        ),
        visitor_queries=VisitorQueryService(transactions=transactions),
        integrator_messages=IntegratorMessageService(
            transactions=transactions, clock=clock, limits=limits, redaction=redaction
        ),
        integrator_control=IntegratorControlService(
            transactions=transactions,
            router=router,
            clock=clock,
            limits=limits,
            addresses=addresses or JidNormalizer(),
            redaction=redaction,
        ),
        queues=QueueService(transactions=transactions),
        agent_removal=AgentRemovalService(transactions=transactions, router=router),
        api_keys=ApiKeyService(transactions=transactions, clock=clock),
        webhooks=WebhookService(
            transactions=transactions,
            clock=clock,
            resolver=resolver or SystemHostResolver(),
            settings=webhooks,
        ),
        webhook_outbox=outbox,
        webhook_deliveries=WebhookDeliveryService(
            transactions=transactions,
            clock=clock,
            transport=transport
            or AiohttpWebhookTransport(allow_private=webhooks.allow_private_targets),
            settings=webhooks,
        ),
        visitor_events=VisitorEventService(
            transactions=transactions, clock=clock, identity_verifier=JwtIdentityVerifier()
        ),
        tenant_settings=TenantSettingsService(transactions=transactions),
        transcript_requests=TranscriptRequestService(
            transactions=transactions, clock=clock, settings=mail, available=mail_on
        ),
        transcript_auto_send=auto_send,
        transcript_mails=TranscriptMailSender(
            transactions=transactions,
            clock=clock,
            mailer=mailer if mail_on else None,
            settings=mail,
            attachment_url=links.lasting,
        ),
        api_channel=ApiChannelService(
            transactions=transactions,
            conversations=conversations,
            messaging=messaging,
            clock=clock,
            limits=limits,
        ),
        threads=ThreadService(
            transactions=transactions, clock=clock, identity_verifier=JwtIdentityVerifier()
        ),
        outbound_threads=OutboundThreadService(
            transactions=transactions,
            clock=clock,
            limits=limits,
            addresses=addresses or JidNormalizer(),
            redaction=redaction,
        ),
        outbound_visitor_threads=OutboundVisitorThreadService(
            transactions=transactions,
            clock=clock,
            limits=limits,
            addresses=addresses or JidNormalizer(),
            redaction=redaction,
        ),
        widget_configs=WidgetConfigService(transactions=transactions, clock=clock),
        analytics=AnalyticsService(transactions=transactions, clock=clock),
        offline_messages=OfflineMessageService(
            transactions=transactions,
            clock=clock,
            limits=limits,
            router=router,
            messaging=messaging,
            redaction=redaction,
        ),
        offline_answers=offline_answers,
        identity_settings=IdentitySettingsService(
            transactions=transactions, clock=clock, verifier=JwtIdentityVerifier()
        ),
        redaction_settings=RedactionSettingsService(
            transactions=transactions, clock=clock, policy=redaction
        ),
        rich_replies=RichReplyService(transactions=transactions, messaging=messaging),
        reawaken=ReawakenService(transactions=transactions, router=router, clock=clock),
        visitor_identify=VisitorIdentifyService(
            transactions=transactions, clock=clock, limits=limits, redaction=redaction
        ),
        files=file_service,
        file_config=FileConfigService(transactions=transactions),
        file_retention=FileRetentionService(transactions=transactions, blobs=blobs, clock=clock),
        audit=audit,
        retention_settings=RetentionSettingsService(transactions=transactions, clock=clock),
        retention=RetentionService(transactions=transactions, blobs=blobs, clock=clock),
        visitor_data=VisitorDataService(transactions=transactions, blobs=blobs, audit=audit),
        inactivity=inactivity,
    )


def _file_links(clock: Clock, settings: FileSettings, public_url: str) -> FileLinks:
    # Without a configured secret a process signs with a key of its own: links then
    # work with this process only (the engine passes files.secret or xmpp.secret).
    secret = settings.secret.encode() if settings.secret else os.urandom(32)
    return FileLinks(
        settings=FileLinkSettings(
            secret=secret,
            base_url=public_url.rstrip("/"),
            visitor_ttl=timedelta(seconds=settings.visitor_url_seconds),
            agent_ttl=timedelta(seconds=settings.agent_url_seconds),
        ),
        clock=clock,
    )


def _file_service(
    transactions: Transactions,
    clock: Clock,
    settings: FileSettings,
    links: FileLinks,
    blobs: BlobStore,
    fetcher: FileFetcher | None,
    redaction: RedactionPolicy,
) -> FileService:
    if fetcher is None and settings.copy_agent_files:
        fetcher = AiohttpFileFetcher(timeout=settings.fetch_timeout_seconds)
    return FileService(
        identity_verifier=JwtIdentityVerifier(),
        transactions=transactions,
        blobs=blobs,
        links=links,
        clock=clock,
        fetcher=fetcher if settings.copy_agent_files else None,
        redaction=redaction,
    )
