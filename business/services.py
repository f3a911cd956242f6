"""The use cases, together: what the composition root builds (``chat_engine.bootstrap``)
and hands to each edge. One module per concern; a new capability is a new module and a
new field here, not more methods on an existing service."""

from __future__ import annotations

from dataclasses import dataclass

from business.adapter_state import AdapterStateService
from business.agent_desk import AgentDeskService
from business.agents import AgentService
from business.bots import BotService
from business.canned import CannedService
from business.conversations import ConversationService
from business.corrections import CorrectionService
from business.delivery import DeliveryService
from business.history import HistoryService
from business.hold import HoldService
from business.messaging import MessagingService
from business.notes import NoteService
from business.offers import OfferService
from business.participants import ParticipantService
from business.publishing import EventPublisher
from business.queue_settings import QueueSettingsService
from business.read_markers import ReadMarkerService
from business.routing import Router
from business.sessions import SessionService
from business.supervision import SupervisionService
from business.tenants import TenantService
from business.validation import Limits
from business.visitor_profile import VisitorProfileService


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
    read_markers: ReadMarkerService
    corrections: CorrectionService
