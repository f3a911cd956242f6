"""``ReportStager``: a conversation's report row, written in the transaction that ends it.

Because it is staged with the events (``business.publishing.EventStager``), a report
exists exactly when the end is stored: a rolled-back end leaves none, and no end is
committed without one. A wrap-up recorded after the end (a ``wrap_up`` event applied to
the ended conversation) computes the row again in its own transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

from business.conversation import Conversation
from business.events import (
    DomainEvent,
    EphemeralEvent,
    StateChanged,
    StoredEvent,
    WrapUpRecorded,
)
from business.model import ConversationState
from business.ports import UnitOfWork
from business.report_metrics import conversation_metrics

_ENDED = ConversationState.ENDED


class ReportStager:
    """Implements ``business.publishing.EventStager``. On every other change it costs
    one comparison: only an ended conversation concerns it."""

    async def stage(
        self, uow: UnitOfWork, conversation: Conversation, events: Sequence[DomainEvent]
    ) -> None:
        if conversation.state is not _ENDED:
            return
        stored: list[StoredEvent] = [e for e in events if not isinstance(e, EphemeralEvent)]
        if not any(_changes_the_report(e) for e in stored):
            return
        # Everything stored before this change, then the change's own events (a unit of
        # work reads its own writes, but this does not depend on it).
        first = min(e.pos for e in stored)
        earlier = await uow.events.list_after_pos(conversation.id, 0, first - 1)
        await uow.reports.put(conversation_metrics(conversation, [*earlier, *stored]))


def _changes_the_report(event: StoredEvent) -> bool:
    return isinstance(event, WrapUpRecorded) or (
        isinstance(event, StateChanged) and event.state is _ENDED
    )
