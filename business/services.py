"""The use cases, together: what the composition root builds (``chat_engine.bootstrap``)
and hands to each edge. One module per concern; a new capability is a new module and a
new field here, not more methods on an existing service."""

from __future__ import annotations

from dataclasses import dataclass

from business.adapter_state import AdapterStateService
from business.agent_desk import AgentDeskService
from business.agent_removal import AgentRemovalService
from business.agents import AgentService
from business.analytics import AnalyticsService
from business.api_channel import ApiChannelService
from business.api_keys import ApiKeyService
from business.audit import AuditService
from business.bots import BotService
from business.canned import CannedService
from business.conversation_queries import ConversationQueryService
from business.conversations import ConversationService
from business.corrections import CorrectionService
from business.delivery import DeliveryService
from business.file_config import FileConfigService
from business.file_retention import FileRetentionService
from business.files import FileService
from business.history import HistoryService
from business.hold import HoldService
from business.identity_settings import IdentitySettingsService
from business.inactivity import InactivityService
from business.integrator_control import IntegratorControlService
from business.integrator_messages import IntegratorMessageService
from business.live_counts import LiveCountService
from business.messaging import MessagingService
from business.notes import NoteService
from business.offers import OfferService
from business.offline_answers import OfflineAnswerMail
from business.offline_messages import OfflineMessageService
from business.outbound_threads import OutboundThreadService
from business.outbound_visitors import OutboundVisitorThreadService
from business.participants import ParticipantService
from business.publishing import EventPublisher
from business.queue_settings import QueueSettingsService
from business.queues import QueueService
from business.read_markers import ReadMarkerService
from business.reawaken import ReawakenService
from business.redaction_settings import RedactionSettingsService
from business.reports import ReportService
from business.retention import RetentionService, RetentionSettingsService
from business.rich_replies import RichReplyService
from business.routing import Router
from business.sessions import SessionService
from business.supervision import SupervisionService
from business.tenant_settings import TenantSettingsService
from business.tenants import TenantService
from business.threads import ThreadService
from business.transcript_auto_send import TranscriptAutoSend
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
from business.webhooks import WebhookService
from business.widget_settings import WidgetConfigService


@dataclass(frozen=True, slots=True, kw_only=True)
class Services:
    sessions: SessionService
    conversations: ConversationService
    messaging: MessagingService
    history: HistoryService
    delivery: DeliveryService
    notes: NoteService
    hold: HoldService
    bots: BotService
    offers: OfferService
    participants: ParticipantService
    supervision: SupervisionService
    agent_desk: AgentDeskService
    visitor_profile: VisitorProfileService
    agents: AgentService
    tenants: TenantService
    queue_settings: QueueSettingsService
    canned: CannedService
    adapter_state: AdapterStateService
    router: Router
    publisher: EventPublisher
    """Where edges subscribe their notifiers; only transactions publish to it."""
    limits: Limits
    files: FileService
    file_config: FileConfigService
    file_retention: FileRetentionService
    read_markers: ReadMarkerService
    corrections: CorrectionService
    reports: ReportService
    live_counts: LiveCountService
    conversation_queries: ConversationQueryService
    """Integrators' reads of conversations: search, get, events, transcript."""
    visitor_queries: VisitorQueryService
    integrator_messages: IntegratorMessageService
    """Messages as a bot or the system."""
    integrator_control: IntegratorControlService
    """An integrator's end and transfer."""
    queues: QueueService
    agent_removal: AgentRemovalService
    api_keys: ApiKeyService
    tenant_settings: TenantSettingsService
    transcript_requests: TranscriptRequestService
    """A visitor's request for the transcript by e-mail."""
    transcript_auto_send: TranscriptAutoSend
    """Queues the transcript with the end, where the tenant wants it; tells its
    listeners after commits (subscribe it to the publisher to have them told)."""
    transcript_mails: TranscriptMailSender
    """What the engine's ``TranscriptMailDispatcher`` runs."""
    webhooks: WebhookService
    webhook_outbox: WebhookOutbox
    """Stages webhook deliveries with the events; tells its listeners after commits."""
    webhook_deliveries: WebhookDeliveryService
    """What the engine's ``WebhookDispatcher`` runs."""
    visitor_events: VisitorEventService
    """One event read with the visitor's credentials: what an ``event.ref`` points to."""
    api_channel: ApiChannelService
    """Visitors' messages from other services, bridged by an integrator (REST in)."""
    threads: ThreadService
    """Messaging mode: the visitor's thread list, agents' lock and unlock."""
    outbound_threads: OutboundThreadService
    """Messaging mode: an agent opens a thread to a visitor (``!newthread``)."""
    outbound_visitor_threads: OutboundVisitorThreadService
    """Messaging mode: a thread to a visitor named by id or signed ``sub`` (REST, CLI)."""
    widget_configs: WidgetConfigService
    """A tenant's widget configuration, and whether a queue can take a chat now."""
    analytics: AnalyticsService
    """The widget's page views, trigger impressions and engagements: counted, reported."""
    offline_messages: OfflineMessageService
    """What a visitor leaves when nobody is online: a queued conversation."""
    offline_answers: OfflineAnswerMail
    """Queues the mail of an offline message's answer with it; tells its listeners after
    commits (subscribe it to the publisher to have them told)."""
    identity_settings: IdentitySettingsService
    """A tenant's signed-identity settings (mode, audience, keys)."""
    redaction_settings: RedactionSettingsService
    """A tenant's PII redaction (what is masked in messages)."""
    rich_replies: RichReplyService
    """The visitor's answers to rich messages (choices, checked against the offer)."""
    reawaken: ReawakenService
    """Held chats waiting for their agent: the reservations due end (``ReawakenClock``),
    the agent desk lists an agent's."""
    visitor_identify: VisitorIdentifyService
    """``ChatEngine.identify``: the site tells who the visitor is mid-chat."""
    audit: AuditService
    """The append-only log of administrators' actions."""
    retention_settings: RetentionSettingsService
    retention: RetentionService
    """Deletes ended conversations and idle visitors past their tenant's retention."""
    visitor_data: VisitorDataService
    """A visitor's export and erasure."""
    inactivity: InactivityService
    """Runs the queues' inactivity rules due (what the engine's ``InactivityClock`` runs)."""
