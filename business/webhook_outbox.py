"""The webhook outbox: a delivery row per (subscription, event) written in the very
transaction that stores the event.

``WebhookOutbox`` is an ``EventStager``: ``Transaction.apply`` hands it each change's
events before the commit, so a delivery exists exactly when its event does — nothing
is lost if the process dies between the commit and the send, and nothing is sent for a
change that was rolled back. It decides from the tenant's enabled subscriptions, which
the repository serves from a cache on the message path: a tenant without subscriptions
costs a dictionary lookup per change, no read and no write.

It is also a ``ConversationNotifier``: after a commit that staged deliveries it tells
its listeners (the dispatcher), so they go out at once rather than at the next poll.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from business.conversation import Conversation
from business.events import DomainEvent, EphemeralEvent, StateChanged, StoredEvent
from business.file_links import AttachmentUrl
from business.model import ConversationState, new_id
from business.outbox_wake import OutboxWake
from business.ports import UnitOfWork
from business.report_metrics import conversation_metrics
from business.webhook_model import DeliveryId, WebhookDelivery, WebhookEventType
from business.webhook_payloads import webhook_events

logger = logging.getLogger(__name__)


def _ends(events: Sequence[StoredEvent]) -> bool:
    return any(isinstance(e, StateChanged) and e.state is ConversationState.ENDED for e in events)


def new_delivery_id() -> DeliveryId:
    return DeliveryId("msg_" + new_id())


class WebhookOutbox(OutboxWake):
    def __init__(self, *, attachment_url: AttachmentUrl) -> None:
        """``attachment_url``: how payloads show a message's files (``FileLinks.lasting``:
        signed when the delivery is staged)."""
        super().__init__()
        self._attachment_url = attachment_url

    async def stage(
        self, uow: UnitOfWork, conversation: Conversation, events: Sequence[DomainEvent]
    ) -> None:
        subscriptions = await uow.webhooks.enabled_for_tenant(conversation.tenant_id)
        if not subscriptions:
            return
        stored = [e for e in events if not isinstance(e, EphemeralEvent)]
        metrics = None
        if _ends(stored) and any(s.wants(WebhookEventType.ENDED) for s in subscriptions):
            # conversation.ended carries the conversation's report row, computed from
            # all its events: what was stored before this change, then its own.
            first = min(e.pos for e in stored)
            earlier = await uow.events.list_after_pos(conversation.id, 0, first - 1)
            metrics = conversation_metrics(conversation, [*earlier, *stored])
        deliveries: list[WebhookDelivery] = []
        for made in webhook_events(
            conversation, stored, attachment_url=self._attachment_url, metrics=metrics
        ):
            # The event's own time: the horizon of its retries counts from it.
            at = made.created_at
            deliveries.extend(
                WebhookDelivery(
                    id=new_delivery_id(),
                    tenant_id=conversation.tenant_id,
                    subscription_id=subscription.id,
                    conversation_id=conversation.id,
                    pos=made.pos,
                    part=made.part,
                    event_type=made.type,
                    body=made.body,
                    created_at=at,
                    queued_at=at,
                    next_attempt_at=at,
                )
                for subscription in subscriptions
                if subscription.wants(made.type)
            )
        if deliveries:
            await uow.webhook_deliveries.add_many(deliveries)
            self.staged()
