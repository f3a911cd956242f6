"""Where PII redaction meets the use cases: every text a visitor, an agent, a bot or an
integrator writes into a conversation goes through ``RedactionPolicy.redact`` (or a
``Redactor`` it gave) inside the transaction that stores it, with the conversation's
tenant, before the change is decided. What is stored is then the masked text, and
everything after the store (the visitor's ack and echo, the agent's stanza, webhooks,
transcripts, logs) only ever sees that.

Canned responses, queue greetings and other texts the tenant's administrators configure
are not redacted: they are the tenant's own words, not a customer's.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import OrderedDict

from business.model import ConversationId, TenantId
from business.redaction import PhoneFinder, RedactionSettings, Redactor
from business.transactions import Transaction

logger = logging.getLogger(__name__)

DEFAULT_SETTINGS = RedactionSettings()
"""A tenant that never changed them: card numbers and IBANs masked, the rest kept."""

MAX_REDACTORS = 256
"""Distinct settings values whose ``Redactor`` (compiled patterns) is kept; tenants
mostly share the defaults, so this bounds memory, not the number of tenants."""


class RedactionPolicy:
    """Turns a tenant's stored settings into a ``Redactor``, memoised per distinct
    settings value (least recently used dropped past ``max_redactors``). Without a
    ``PhoneFinder`` phone numbers cannot be found, and settings that ask for them are
    applied without (``phones_available`` lets the settings service refuse them)."""

    def __init__(
        self, *, phones: PhoneFinder | None = None, max_redactors: int = MAX_REDACTORS
    ) -> None:
        self._phones = phones
        self._max = max_redactors
        self._redactors: OrderedDict[RedactionSettings, Redactor | None] = OrderedDict()

    @property
    def phones_available(self) -> bool:
        return self._phones is not None

    def redactor(self, settings: RedactionSettings) -> Redactor | None:
        """The redactor of ``settings``; None when they mask nothing."""
        try:
            found = self._redactors[settings]
        except KeyError:
            found = self._build(settings)
            self._redactors[settings] = found
            if len(self._redactors) > self._max:
                self._redactors.popitem(last=False)
        else:
            self._redactors.move_to_end(settings)
        return found

    def _build(self, settings: RedactionSettings) -> Redactor | None:
        if settings.phones and self._phones is None:
            logger.warning("phone numbers cannot be redacted here: no phone number finder")
            settings = dataclasses.replace(settings, phones=False)
        return Redactor(settings, self._phones) if settings.enabled else None

    async def settings(self, tx: Transaction, tenant_id: TenantId) -> RedactionSettings:
        return await tx.redaction_settings.get(tenant_id) or DEFAULT_SETTINGS

    async def for_tenant(self, tx: Transaction, tenant_id: TenantId) -> Redactor | None:
        """The tenant's redactor (one cached read), None when it masks nothing."""
        return self.redactor(await self.settings(tx, tenant_id))

    async def redact(
        self,
        tx: Transaction,
        tenant_id: TenantId,
        text: str,
        conversation_id: ConversationId | None = None,
    ) -> str:
        """``text`` with the tenant's PII masked."""
        return apply(await self.for_tenant(tx, tenant_id), text, conversation_id)


def apply(
    redactor: Redactor | None,
    text: str,
    conversation_id: ConversationId | None,
    what: str = "a message",
) -> str:
    """``text`` through ``redactor`` (None: unchanged), logging what was masked (the
    kinds only, never the text) and in ``what``."""
    if redactor is None or not text:
        return text
    redacted = redactor.redact(text)
    if redacted.kinds:
        logger.info(
            "conversation %s: masked %s in %s",
            conversation_id,
            ", ".join(redacted.kinds),
            what,
        )
    return redacted.text


class BatchRedaction:
    """The redactors of one transaction that stores many messages (group commit):
    one settings read per tenant, however many of its messages the batch holds."""

    def __init__(self, policy: RedactionPolicy, tx: Transaction) -> None:
        self._policy = policy
        self._tx = tx
        self._redactors: dict[TenantId, Redactor | None] = {}

    async def text(self, tenant_id: TenantId, text: str, conversation_id: ConversationId) -> str:
        try:
            redactor = self._redactors[tenant_id]
        except KeyError:
            redactor = await self._policy.for_tenant(self._tx, tenant_id)
            self._redactors[tenant_id] = redactor
        return apply(redactor, text, conversation_id)
