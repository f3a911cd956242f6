"""The site tells who the visitor is mid-chat (``ChatEngine.identify({name, email,
avatar, extra})``, the visitor protocol's ``visitor.identify``): the same visitor, the
chat goes on.

- ``name`` becomes the visitor's name (their conversations', their own); ``email``,
  ``avatar`` and the ``extra`` values become custom fields of the visitor's open
  conversations (``email``, ``avatar``, and each ``extra`` key under the custom field the
  tenant maps it to, else as it is named: ``business.identity_extra``), where
  agents (offer, ``!info``), rules, the REST API and webhooks already read them.
- Each open conversation whose values changed gets a ``VisitorIdentified`` desk event:
  the agent's notice, the REST API's event, the ``visitor.updated`` webhook. The same
  values again change nothing and tell nobody (a site may call it on every page).
- Never the ``sub``: who the visitor *is* comes only from a signed identity at a connect
  (``business.identities``). For a visitor with one, what its token asserts (its
  ``name``, ``email`` and ``extra`` values) is the company's word: changing it here is
  ``Forbidden``, whole (nothing stored), so that a page script cannot make an agent
  believe the customer is someone else; what the token does not assert may be given.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from business.changes import ChangeBuilder
from business.conversation import Conversation
from business.email_addresses import check_email
from business.errors import Forbidden, InvalidInput, NotFound, TooLarge
from business.events import VisitorIdentified
from business.identity_extra import mapped
from business.identity_model import (
    MAX_EXTRA_FIELDS,
    MAX_EXTRA_NAME,
    MAX_EXTRA_VALUE,
    MAX_NAME,
    RESERVED_FIELDS,
    VisitorIdentity,
)
from business.model import ConversationId, Participant, VisitorId
from business.ports import Clock
from business.redaction_fields import field_redactor
from business.redaction_policy import RedactionPolicy
from business.transactions import Transactions, retrying
from business.validation import Limits, check_storable

logger = logging.getLogger(__name__)

MAX_AVATAR_URL: Final = 2048
_AVATAR_RE = re.compile(r"https?://[^\s/?#]+[^\s]*", re.IGNORECASE)
EMAIL_FIELD: Final = "email"
AVATAR_FIELD: Final = "avatar"
_RESERVED: Final = RESERVED_FIELDS


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentifyVisitor:
    """What the site says about the visitor; None (or an absent ``extra`` key): left
    as it is."""

    visitor_id: VisitorId
    name: str | None = None
    email: str | None = None
    avatar: str | None = None
    extra: Mapping[str, object] = field(default_factory=dict)
    """Strings, numbers or booleans, stored as text (as a signed identity's ``extra``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Identified:
    changes: tuple[tuple[str, str], ...]
    """What changed (``name``, ``email``, ``avatar``, custom fields), in that order."""
    conversations: int
    """Open conversations told of it (0: no chat yet, or nothing new)."""


def check_profile(cmd: IdentifyVisitor, limits: Limits) -> tuple[tuple[str, str], ...]:
    """The given values as ``(field, text)``, checked: a name of 1 to 100 characters,
    an e-mail address, an ``http(s)`` avatar URL, at most 20 extra values (names of 1
    to 64 characters other than ``name``, ``email``, ``avatar``; values of at most 500)."""
    values: list[tuple[str, str]] = []
    if cmd.name is not None:
        name = check_storable(cmd.name, "name").strip()
        if not name or len(name) > MAX_NAME:
            raise InvalidInput(f"name must be 1 to {MAX_NAME} characters")
        values.append(("name", name))
    if cmd.email is not None:
        values.append((EMAIL_FIELD, check_email(check_storable(cmd.email, "email"))))
    if cmd.avatar is not None:
        avatar = check_storable(cmd.avatar, "avatar").strip()
        if len(avatar) > min(MAX_AVATAR_URL, limits.max_field_length):
            raise TooLarge(f"avatar is longer than {MAX_AVATAR_URL} characters")
        if _AVATAR_RE.fullmatch(avatar) is None:
            raise InvalidInput("avatar must be an http or https URL of an image")
        values.append((AVATAR_FIELD, avatar))
    if len(cmd.extra) > MAX_EXTRA_FIELDS:
        raise TooLarge(f"extra has more than {MAX_EXTRA_FIELDS} fields")
    for key, value in cmd.extra.items():
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_EXTRA_NAME:
            raise InvalidInput(f"extra field names must be 1 to {MAX_EXTRA_NAME} characters")
        check_storable(key, "extra field name")
        if key in _RESERVED:
            raise InvalidInput(f"extra.{key}: give it as identify's own {key}")
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int | float | str):
            text = str(value)
        else:
            raise InvalidInput(f"extra.{key[:40]} must be a string, number or boolean")
        if len(text) > MAX_EXTRA_VALUE:
            raise TooLarge(f"extra.{key[:40]} is longer than {MAX_EXTRA_VALUE} characters")
        values.append((key, check_storable(text, f"extra.{key[:40]}")))
    return tuple(values)


def check_signed(
    values: tuple[tuple[str, str], ...],
    signed: VisitorIdentity | None,
    extra_fields: Mapping[str, str] | None = None,
) -> None:
    """``Forbidden`` for a value the visitor's signed identity asserts otherwise (its
    extra claims under the field names the tenant maps them to)."""
    if signed is None:
        return
    fields = extra_fields or {}
    asserted = {mapped(fields, key): value for key, value in signed.extra.items()}
    if signed.name is not None:
        asserted["name"] = signed.name
    if signed.email is not None:
        asserted[EMAIL_FIELD] = signed.email
    for key, value in values:
        if key in asserted and asserted[key] != value:
            raise Forbidden(
                f"{key} comes from the visitor's signed identity: change it in the token "
                "your site signs, not with identify()"
            )


class VisitorIdentifyService:
    def __init__(
        self,
        *,
        transactions: Transactions,
        clock: Clock,
        limits: Limits,
        redaction: RedactionPolicy | None = None,
    ) -> None:
        self._tx = transactions
        self._clock = clock
        self._limits = limits
        self._redaction = redaction or RedactionPolicy()

    async def identify(self, cmd: IdentifyVisitor) -> Identified:
        """Store the values (see the module); ``InvalidInput``/``TooLarge`` for a bad
        one, ``Forbidden`` against a signed identity, nothing stored either way."""
        values = check_profile(cmd, self._limits)
        extra = frozenset(cmd.extra)
        return await retrying(lambda: self._identify(cmd.visitor_id, values, extra))

    async def _identify(
        self, visitor_id: VisitorId, checked: tuple[tuple[str, str], ...], extra: frozenset[str]
    ) -> Identified:
        now = self._clock.now()
        async with self._tx() as tx:
            visitor = await tx.visitors.get(visitor_id)
            if visitor is None:
                raise NotFound("unknown visitor")
            settings = await tx.identity_settings.get(visitor.tenant_id) if extra else None
            fields = settings.extra_fields if settings is not None else {}
            # An extra key the tenant maps is stored under its field name.
            values = tuple(
                (mapped(fields, key) if key in extra else key, value) for key, value in checked
            )
            signed = await tx.visitor_identities.get_for_visitor(visitor_id)
            check_signed(values, signed, fields)
            # Masked after the check against the token (which holds them whole), before
            # the comparison with what is stored (masked as well): the same values again
            # are still no news. The avatar is an address the widget loads: kept.
            redact = await field_redactor(self._redaction, tx, visitor.tenant_id)
            given = {
                key: value if key == AVATAR_FIELD else redact.field(key, value, "identify()")
                for key, value in values
            }
            name = given.pop("name", None)
            changed: list[tuple[str, str]] = []
            if name is not None and visitor.name != name:
                await tx.visitors.set_name(visitor_id, name)
                changed.append(("name", name))
            told = 0
            for listed in await tx.conversations.list_for_visitor(visitor_id):
                conv = await tx.conversations.get(listed.id, for_update=True)
                assert conv is not None
                if not conv.is_open:
                    continue
                diff = _diff(conv, name, given)
                if not diff:
                    continue
                custom = {**conv.context.custom, **{k: v for k, v in diff if k != "name"}}
                if len(custom) > self._limits.max_custom_fields:
                    raise TooLarge(
                        f"context.custom would have more than {self._limits.max_custom_fields} "
                        "fields in all"
                    )
                builder = ChangeBuilder(conv)
                builder.update(
                    visitor_name=name or conv.visitor_name,
                    context=dataclasses.replace(conv.context, custom=custom),
                )
                who = builder.conversation.visitor
                builder.add_hidden(functools.partial(_identified, conv.id, who, diff, now))
                await tx.apply(builder.done())
                told += 1
                for key, value in diff:
                    if (key, value) not in changed:
                        changed.append((key, value))
                logger.info("conversation %s: the visitor identified (%s)", conv.id, _keys(diff))
            await tx.commit()
        return Identified(changes=tuple(changed), conversations=told)


def _diff(
    conv: Conversation, name: str | None, given: Mapping[str, str]
) -> tuple[tuple[str, str], ...]:
    diff: list[tuple[str, str]] = []
    if name is not None and conv.visitor_name != name:
        diff.append(("name", name))
    custom = conv.context.custom
    diff.extend((key, value) for key, value in given.items() if custom.get(key) != value)
    return tuple(diff)


def _identified(
    conversation_id: ConversationId,
    visitor: Participant,
    changes: tuple[tuple[str, str], ...],
    now: datetime,
    pos: int,
) -> VisitorIdentified:
    return VisitorIdentified(
        conversation_id=conversation_id, pos=pos, created_at=now, visitor=visitor, changes=changes
    )


def _keys(diff: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(key for key, _ in diff)
