"""SQL implementations of the repository ports in ``business.ports``, one module per
aggregate."""

from data.repositories.adapter_state import SqlAdapterStateRepository
from data.repositories.agents import SqlAgentRepository
from data.repositories.analytics import SqlAnalyticsRepository
from data.repositories.api_keys import SqlApiKeyRepository
from data.repositories.base import SqlContext
from data.repositories.canned import SqlCannedRepository
from data.repositories.conversation_search import SqlConversationQueryRepository
from data.repositories.conversations import SqlConversationRepository
from data.repositories.events import SqlEventRepository
from data.repositories.live_counts import SqlLiveCountRepository
from data.repositories.members import SqlMemberRepository
from data.repositories.reports import SqlReportRepository
from data.repositories.tenants import SqlQueueRepository, SqlTenantRepository
from data.repositories.transcript_mails import SqlTranscriptMailRepository
from data.repositories.visitors import SqlVisitorRepository
from data.repositories.webhook_deliveries import SqlWebhookDeliveryRepository
from data.repositories.webhooks import SqlWebhookRepository
from data.repositories.widget_configs import SqlWidgetConfigRepository

__all__ = [
    "SqlAdapterStateRepository",
    "SqlAgentRepository",
    "SqlAnalyticsRepository",
    "SqlApiKeyRepository",
    "SqlCannedRepository",
    "SqlContext",
    "SqlConversationQueryRepository",
    "SqlConversationRepository",
    "SqlEventRepository",
    "SqlLiveCountRepository",
    "SqlMemberRepository",
    "SqlQueueRepository",
    "SqlReportRepository",
    "SqlTenantRepository",
    "SqlTranscriptMailRepository",
    "SqlVisitorRepository",
    "SqlWebhookDeliveryRepository",
    "SqlWebhookRepository",
    "SqlWidgetConfigRepository",
]
