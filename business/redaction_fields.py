"""PII redaction of what people supply besides message texts: pre-chat form values, the
visitor's context (page addresses and titles, the site's custom fields, ``identify()``
values), file names, the reasons and notes of ends and transfers, and the texts of an
integrator's rich content. Each goes through the tenant's ``Redactor`` from the same
``RedactionPolicy`` the messages use, inside the transaction that stores it.

Contact fields: a form field or custom field named ``email`` or ``phone`` holds the
address the visitor (or the site) gives *so that the company can answer*: offline
messages are answered by mail, transcripts are mailed to it (``known_email``), and an
agent calls the number back. Masking it would make those impossible, so the tenant's
e-mail and phone-number rules are not applied to these fields; card numbers, IBANs and
custom patterns are, as everywhere. The same e-mail address written into a message, a
note or any other field is masked when the tenant asks.

Not masked, because they are identifiers a machine matches rather than text people
read: field names (keys), rich-content payloads and list-item ids (the visitor's answer
is checked against them, ``business.rich.choose``, so masking one would break the
answer, or make two payloads equal), and the https addresses of rich buttons and
images (masked, they would lead nowhere).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from business.bot_model import QuickReply
from business.model import ConversationId, TenantId, VisitorContext
from business.redaction import Redactor
from business.redaction_policy import RedactionPolicy, apply
from business.rich import Rich, RichButton, RichCard, RichListPicker
from business.transactions import Transaction

CONTACT_FIELDS: Final = frozenset({"email", "phone"})
"""Form and custom fields whose e-mail address or phone number is the visitor's contact
(see the module): the tenant's e-mail and phone rules skip them."""


@dataclass(frozen=True, slots=True)
class FieldRedactor:
    """One tenant's redaction of fields for one conversation (None: not known yet, as
    before a conversation is opened). ``full``: the tenant's redactor; ``contact``: the
    same without e-mail and phone rules. Either None: it masks nothing."""

    full: Redactor | None
    contact: Redactor | None
    conversation_id: ConversationId | None = None

    @property
    def masks(self) -> bool:
        return self.full is not None or self.contact is not None

    def text(self, text: str, what: str) -> str:
        return apply(self.full, text, self.conversation_id, what)

    def optional(self, text: str | None, what: str) -> str | None:
        return None if text is None else self.text(text, what)

    def field(self, key: str, value: str, what: str) -> str:
        """A form or custom field's value; contact fields keep e-mail and phone."""
        redactor = self.contact if key in CONTACT_FIELDS else self.full
        return apply(redactor, value, self.conversation_id, f"{what} field {key}")

    def fields(self, fields: Mapping[str, str], what: str) -> dict[str, str]:
        return {key: self.field(key, value, what) for key, value in fields.items()}

    def context(self, context: VisitorContext) -> VisitorContext:
        """Every text of ``context`` masked: page addresses (a card number or an address
        in a query string) and titles, the referrer, the custom fields' values."""
        if not self.masks:
            return context
        pages = context.pages
        if pages is not None:
            pages = tuple(
                dataclasses.replace(
                    page,
                    url=self.text(page.url, "a page view"),
                    title=self.optional(page.title, "a page view"),
                )
                for page in pages
            )
        return dataclasses.replace(
            context,
            page_url=self.optional(context.page_url, "the page address"),
            page_title=self.optional(context.page_title, "the page title"),
            referrer=self.optional(context.referrer, "the referrer"),
            custom=self.fields(context.custom, "context"),
            pages=pages,
        )

    def rich(self, rich: Rich | None) -> Rich | None:
        """The texts people read (labels, titles, texts, descriptions, alt texts); the
        payloads, ids and addresses as they are (see the module)."""
        if rich is None or self.full is None:
            return rich
        picker = rich.list_picker
        if picker is not None:
            picker = RichListPicker(
                title=self.text(picker.title, "rich content"),
                items=tuple(
                    dataclasses.replace(
                        item,
                        label=self.text(item.label, "rich content"),
                        description=self.text(item.description, "rich content"),
                    )
                    for item in picker.items
                ),
                multiple=picker.multiple,
            )
        return Rich(
            quick_replies=self._buttons(rich.quick_replies),
            buttons=self._buttons(rich.buttons),
            card=None if rich.card is None else self._card(rich.card),
            carousel=tuple(self._card(card) for card in rich.carousel),
            list_picker=picker,
        )

    def quick_replies(self, replies: tuple[QuickReply, ...]) -> tuple[QuickReply, ...]:
        """Labels masked (a click sends the label as the visitor's message, which would
        be masked then anyway); ids as they are."""
        return tuple(
            dataclasses.replace(reply, label=self.text(reply.label, "a quick reply"))
            for reply in replies
        )

    def _buttons(self, buttons: tuple[RichButton, ...]) -> tuple[RichButton, ...]:
        return tuple(
            dataclasses.replace(button, label=self.text(button.label, "rich content"))
            for button in buttons
        )

    def _card(self, card: RichCard) -> RichCard:
        return dataclasses.replace(
            card,
            title=self.text(card.title, "rich content"),
            text=self.text(card.text, "rich content"),
            image_alt=self.text(card.image_alt, "rich content"),
            buttons=self._buttons(card.buttons),
        )


async def field_redactor(
    policy: RedactionPolicy,
    tx: Transaction,
    tenant_id: TenantId,
    conversation_id: ConversationId | None = None,
) -> FieldRedactor:
    """The tenant's ``FieldRedactor`` (one cached settings read; both redactors are the
    policy's memoised ones)."""
    settings = await policy.settings(tx, tenant_id)
    contact = dataclasses.replace(settings, emails=False, phones=False)
    return FieldRedactor(policy.redactor(settings), policy.redactor(contact), conversation_id)
