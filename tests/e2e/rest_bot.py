"""An integrator's external bot, as an integrator would write one: a real aiohttp server
(``tests.presentation.webhook_receiver``) that takes the engine's signed webhooks,
checks each signature with the ``standardwebhooks`` library, answers at once, and then
acts through the REST API with a key of scope ``bot``.

It follows each conversation's state from ``conversation.state_changed`` and speaks
only while the conversation is with the bot: a greeting when a chat reaches it, an
answer to each visitor message, and a hand-over to the queue (``POST …/transfer``) when
the visitor asks for a person.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from standardwebhooks import Webhook, WebhookVerificationError

from tests.presentation.webhook_receiver import Received, Receiver, receiver

AVA = {"kind": "bot", "name": "Ava", "id": "ava"}
GREETING = "Hi, I'm Ava. Ask me about your order, or ask for a person."
ANSWER = "Order 42 left our warehouse today."
HANDOVER = "I'm handing you over to a person now."
QUEUE = "support"


@dataclass
class RestBot:
    api: str
    """The engine's ``…/api/v1``."""
    key: str
    """A key of scope ``bot``."""
    http: aiohttp.ClientSession
    secret: str = ""
    """The webhook subscription's, once subscribed."""
    states: dict[str, str] = field(default_factory=dict)
    documents: list[dict[str, Any]] = field(default_factory=list)
    """Every verified delivery, in arrival order."""
    refused: list[Received] = field(default_factory=list)
    """Deliveries whose signature did not verify."""
    calls: list[tuple[str, str, int]] = field(default_factory=list)
    """(method, path, status) of each REST call the bot made."""
    inbox: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    _sent: int = 0

    def hook(self, received: Received) -> tuple[int, float]:
        """The webhook endpoint's answer: verify, queue the work, answer quickly."""
        try:
            document = Webhook(self.secret).verify(received.body, received.headers)
        except WebhookVerificationError:
            self.refused.append(received)
            return 400, 0.0
        assert isinstance(document, dict)
        self.documents.append(document)
        self.inbox.put_nowait(document)
        return 204, 0.0

    async def run(self) -> None:
        while True:
            document = await self.inbox.get()
            data = document["data"]
            conversation_id = data["conversation_id"]
            match document["type"]:
                case "conversation.state_changed":
                    self.states[conversation_id] = data["state"]
                    if data["state"] == "bot":
                        await self.say(conversation_id, GREETING)
                case "message.created" if (
                    data["from"]["kind"] == "visitor" and self.states.get(conversation_id) == "bot"
                ):
                    if "person" in data["text"].lower():
                        await self.say(conversation_id, HANDOVER)
                        await self.call(
                            "POST",
                            f"/conversations/{conversation_id}/transfer",
                            {"queue": QUEUE, "note": "asked for a person", "actor": AVA},
                        )
                    else:
                        await self.say(conversation_id, ANSWER)

    async def say(self, conversation_id: str, text: str) -> None:
        self._sent += 1
        await self.call(
            "POST",
            f"/conversations/{conversation_id}/messages",
            {"client_msg_id": f"ava-{self._sent}", "sender": AVA, "text": text},
        )

    async def call(self, method: str, path: str, body: dict[str, Any]) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        async with self.http.request(method, self.api + path, json=body, headers=headers) as reply:
            self.calls.append((method, path, reply.status))


@asynccontextmanager
async def rest_bot(api: str, key: str) -> AsyncIterator[tuple[RestBot, Receiver]]:
    """The bot, listening on loopback, until the block ends."""
    async with aiohttp.ClientSession() as http:
        bot = RestBot(api=api, key=key, http=http)
        async with receiver(bot.hook) as target:
            task = asyncio.create_task(bot.run())
            try:
                yield bot, target
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
