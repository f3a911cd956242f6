"""Signed identities at connect: the tenant's mode, the token's check, and which visitor
the identity is.

- The first valid token with a ``sub`` makes the connecting anonymous visitor that
  identity (the same visitor: its history stays, a running chat goes on). That holds
  for a ``sub`` an outbound thread bound provisionally to a placeholder visitor too: the
  connecting visitor takes the placeholder's threads (``business.provisional_identities``);
  a visit with no visitor of its own takes the placeholder, whose binding is verified
  from then on.
- A ``sub`` seen before is its visitor, from any device: a browser that comes with
  another visitor's token (or none) gets a device token of the identity's visitor, so
  the same person sees the same history everywhere.
- An identified visitor is reached only with a valid token of its ``sub``: its visitor
  token alone (after the site's logout, or with another ``sub``) opens a new anonymous
  or other visitor instead — "a different identity starts a new session". The rule is
  ``business.sessions.find_visitor``'s, so every bearer of a visitor token (the connect,
  the visitor's HTTP reads) meets it.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime

from business.device_tokens import issue_device_token, mark_used
from business.errors import IdentityRejected, Unauthenticated, UnknownVisitor
from business.identity_model import (
    IDENTITY_DISABLED,
    IDENTITY_REQUIRED,
    MAX_TOKEN_LENGTH,
    IdentityMode,
    IdentitySettings,
    VerifiedIdentity,
    VisitorIdentity,
    identity_from_claims,
    invalid,
)
from business.identity_ports import IdentityTokenVerifier
from business.model import Tenant, TenantId, Visitor, VisitorId, new_id
from business.ports import Clock
from business.provisional_identities import adopt_placeholder
from business.transactions import Transaction, Transactions
from business.validation import TOKEN_RE
from business.visitor_tokens import hash_token, new_token

logger = logging.getLogger(__name__)


class IdentityCheck:
    """The tenant's mode and the token's verification, before the session's unit of
    work (a read of the settings; nothing is written)."""

    def __init__(
        self, *, transactions: Transactions, clock: Clock, verifier: IdentityTokenVerifier | None
    ) -> None:
        self._tx = transactions
        self._clock = clock
        self._verifier = verifier

    async def for_bearer(
        self, tenant_id: TenantId, visitor_token: str | None, identity: str | None
    ) -> VerifiedIdentity | None:
        """A visitor's HTTP read or upload (``Authorization: Bearer``, ``X-Chat-Identity``):
        the identity as ``verify`` checks it at a connect, and a well-formed visitor
        token, or ``Unauthenticated`` (a read never makes a visitor). The caller then
        finds the visitor with ``business.sessions.find_visitor``."""
        if visitor_token is None or TOKEN_RE.fullmatch(visitor_token) is None:
            raise Unauthenticated("a visitor token is required: Authorization: Bearer <token>")
        try:
            return await self.verify(tenant_id, identity)
        except IdentityRejected as error:
            raise Unauthenticated(f"{error} ({error.code})") from None

    async def verify(self, tenant_id: TenantId, token: str | None) -> VerifiedIdentity | None:
        """The identity of ``token`` (None: an anonymous visitor is fine), or
        ``IdentityRejected``: ``identity_required`` without a token when the mode is
        required, ``identity_disabled`` with one when it is off, ``identity_invalid``
        for a token that fails a check. An unknown tenant is left to the session."""
        async with self._tx.read() as tx:
            settings = await tx.identity_settings.get(tenant_id)
        settings = settings or IdentitySettings(tenant_id=tenant_id)
        if token is None:
            if settings.mode is IdentityMode.REQUIRED:
                raise IdentityRejected(
                    "this site requires a signed identity: connect with auth.identity",
                    code=IDENTITY_REQUIRED,
                )
            return None
        if settings.mode is IdentityMode.OFF or self._verifier is None:
            raise IdentityRejected(
                "signed identities are off for this tenant; connect without auth.identity",
                code=IDENTITY_DISABLED,
            )
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise invalid(
                f"the identity token must be 1 to {MAX_TOKEN_LENGTH} characters", "malformed"
            )
        claims = self._verifier.verify(token, settings, self._clock.now())
        return identity_from_claims(claims)


async def resolve_identity(
    tx: Transaction,
    *,
    tenant: Tenant,
    visitor: Visitor | None,
    token: str | None,
    verified: VerifiedIdentity,
    clock: Clock,
    create: bool,
) -> tuple[Visitor, str, bool]:
    """The visitor of ``verified`` for a connect that came as ``visitor`` with ``token``
    (None: no or an unknown token): ``(visitor, token to present next time, is_new)``.
    Writes through ``tx``; the caller commits. ``UnknownVisitor`` when a new visitor
    would be needed and ``create`` is false (the edge's new-visitor limit decides)."""
    now = clock.now()
    bound = await tx.visitor_identities.get_by_sub(tenant.id, verified.sub)
    if (
        bound is not None
        and bound.provisional
        and visitor is not None
        and token is not None
        and visitor.id != bound.visitor_id
        and await tx.visitor_identities.get_for_visitor(visitor.id) is None
    ):
        # Bound by an outbound thread only: the connecting anonymous visitor stays who
        # they are and takes the threads (``business.provisional_identities``).
        await adopt_placeholder(tx, bound, visitor, verified.name)
        await tx.visitor_identities.put(_new(tenant.id, visitor.id, verified, now))
        logger.info(
            "visitor %s identified, taking over placeholder visitor %s (tenant %s)",
            visitor.id,
            bound.visitor_id,
            tenant.id,
        )
        return _named(visitor, verified), token, False
    if bound is not None:
        target = await tx.visitors.get(bound.visitor_id)
        assert target is not None, "an identity's visitor is never deleted"
        await tx.visitor_identities.put(_updated(bound, verified, now))
        if visitor is None or visitor.id != target.id or token is None:
            token = await issue_device_token(tx, tenant.id, target.id, now)
        else:
            await mark_used(tx, tenant.id, token, now)
        return _named(target, verified), token, False
    if (
        visitor is not None
        and token is not None
        and await tx.visitor_identities.get_for_visitor(visitor.id) is None
    ):
        # Anonymous until now: the same visitor becomes the identity.
        await tx.visitor_identities.put(_new(tenant.id, visitor.id, verified, now))
        logger.info("visitor %s identified (tenant %s)", visitor.id, tenant.id)
        return _named(visitor, verified), token, False
    if not create:
        raise UnknownVisitor("a new visitor is needed for this identity")
    token = new_token()
    created = Visitor(
        id=VisitorId(new_id()), tenant_id=tenant.id, created_at=now, name=verified.name
    )
    await tx.visitors.add(created, hash_token(token))
    await tx.visitor_identities.put(_new(tenant.id, created.id, verified, now))
    logger.info("visitor %s created for an identity (tenant %s)", created.id, tenant.id)
    return created, token, True


def _new(
    tenant_id: TenantId, visitor_id: VisitorId, verified: VerifiedIdentity, now: datetime
) -> VisitorIdentity:
    return VisitorIdentity(
        tenant_id=tenant_id,
        sub=verified.sub,
        visitor_id=visitor_id,
        name=verified.name,
        email=verified.email,
        extra=dict(verified.extra),
        verified_at=now,
    )


def _updated(bound: VisitorIdentity, verified: VerifiedIdentity, now: datetime) -> VisitorIdentity:
    return _new(bound.tenant_id, bound.visitor_id, verified, now)


def _named(visitor: Visitor, verified: VerifiedIdentity) -> Visitor:
    if verified.name is None or visitor.name == verified.name:
        return visitor
    return dataclasses.replace(visitor, name=verified.name)
