"""Shared helpers for the use-case tests in tests/business."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

from business import commands as c
from business.conversation import Conversation
from business.model import ConversationState
from tests.harness import ALICE, World

QUEUED, ACTIVE, ENDED = ConversationState.QUEUED, ConversationState.ACTIVE, ConversationState.ENDED
TOKEN = "t" * 43


@contextmanager
def nothing_stored(engine: World) -> Iterator[None]:
    """What a failed use case must leave behind: the store and the notifiers untouched."""
    before = copy.deepcopy(engine.fakes)
    published = len(engine.recorder.published)
    yield
    assert engine.fakes == before
    assert len(engine.recorder.published) == published


async def active_chat(engine: World, text: str | None = None) -> Conversation:
    """A conversation already assigned to Alice."""
    if ALICE not in engine.fakes.agents:
        await engine.agent(ALICE, name="Alice", max_chats=10)
    conv = await engine.start(await engine.visitor(), text=text)
    assert conv.agent_id == ALICE
    return conv


def end(conv: Conversation) -> c.EndConversationByVisitor:
    return c.EndConversationByVisitor(visitor_id=conv.visitor_id, conversation_id=conv.id)
