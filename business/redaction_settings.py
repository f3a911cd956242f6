"""Reading and changing a tenant's PII redaction settings (``business.redaction``)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from business.errors import InvalidInput, NotFound
from business.model import TenantId
from business.ports import Clock
from business.redaction import CustomPattern, RedactionSettings, check_settings
from business.redaction_policy import RedactionPolicy
from business.transactions import Transactions

logger = logging.getLogger(__name__)

_KEEP_REGION = "keep"


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigureRedaction:
    """Change what is given (None: as it is); the rest stays."""

    tenant_id: TenantId
    cards: bool | None = None
    ibans: bool | None = None
    emails: bool | None = None
    phones: bool | None = None
    phone_region: str | None = _KEEP_REGION
    """A two-letter country (``DE``), or None for international numbers only; left
    out: as it is."""
    patterns: Sequence[CustomPattern] | None = None
    """All the custom patterns, replacing the stored ones."""
    add_patterns: Sequence[CustomPattern] = ()
    """Added after the others, each replacing a stored pattern of the same name."""
    remove_patterns: Sequence[str] = ()
    """Names of stored patterns to drop; an unknown one is ``NotFound``."""


class RedactionSettingsService:
    def __init__(
        self, *, transactions: Transactions, clock: Clock, policy: RedactionPolicy
    ) -> None:
        self._tx = transactions
        self._clock = clock
        self._policy = policy

    async def get(self, tenant_id: TenantId) -> RedactionSettings:
        """The tenant's settings (the defaults when never changed); ``NotFound`` for an
        unknown tenant."""
        async with self._tx.read() as tx:
            if await tx.tenants.get(tenant_id) is None:
                raise NotFound(f"unknown tenant {tenant_id!r}")
            return await self._policy.settings(tx, tenant_id)

    async def configure(self, cmd: ConfigureRedaction) -> RedactionSettings:
        """Store the changed settings; they apply to every message stored after this
        returns (in this process; other processes once PostgreSQL's notification reaches
        them, ``data.cache_bus``, and at the latest after the cache's time to live).
        ``InvalidInput`` naming the first problem, nothing stored: see
        ``check_settings``, and phones need a phone number finder."""
        async with self._tx() as tx:
            if await tx.tenants.get(cmd.tenant_id) is None:
                raise NotFound(f"unknown tenant {cmd.tenant_id!r}")
            current = await self._policy.settings(tx, cmd.tenant_id)
            patterns = list(current.patterns if cmd.patterns is None else cmd.patterns)
            for name in cmd.remove_patterns:
                if not any(p.name == name for p in patterns):
                    raise NotFound(f"no pattern {name!r}")
                patterns = [p for p in patterns if p.name != name]
            for added in cmd.add_patterns:
                patterns = [p for p in patterns if p.name != added.name] + [added]
            changed = check_settings(
                dataclasses.replace(
                    current,
                    cards=_given(cmd.cards, current.cards),
                    ibans=_given(cmd.ibans, current.ibans),
                    emails=_given(cmd.emails, current.emails),
                    phones=_given(cmd.phones, current.phones),
                    phone_region=current.phone_region
                    if cmd.phone_region == _KEEP_REGION
                    else cmd.phone_region,
                    patterns=tuple(patterns),
                )
            )
            if changed.phones and not self._policy.phones_available:
                raise InvalidInput("phone numbers cannot be redacted: no phone number finder")
            await tx.redaction_settings.put(cmd.tenant_id, changed, self._clock.now())
            await tx.commit()
        logger.info(
            "tenant %s: redaction of %s",
            cmd.tenant_id,
            ", ".join(describe(changed)) or "nothing",
        )
        return changed


def _given(value: bool | None, current: bool) -> bool:
    return current if value is None else value


def describe(settings: RedactionSettings) -> list[str]:
    """What ``settings`` mask, for people: ``card numbers``, ``phone numbers (DE)``…"""
    said = [
        name
        for name, on in (
            ("card numbers", settings.cards),
            ("IBANs", settings.ibans),
            ("e-mail addresses", settings.emails),
        )
        if on
    ]
    if settings.phones:
        said.append(f"phone numbers ({settings.phone_region or 'international'})")
    said.extend(f"pattern {p.name}" for p in settings.patterns)
    return said
