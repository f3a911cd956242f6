"""In-memory fakes of the signed-identity ports (``tests.fakes`` wires the repositories
into ``FakeUnitOfWork``), and a verifier that takes ``"valid:<sub>"`` tokens."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime

from business.errors import Conflict
from business.identity_model import (
    IdentityKey,
    IdentitySettings,
    VisitorIdentity,
    invalid,
)
from business.model import TenantId, Visitor, VisitorId


class FakeIdentitySettings:
    def __init__(self, rows: dict[TenantId, IdentitySettings]) -> None:
        self._rows = rows

    async def get(self, tenant_id: TenantId) -> IdentitySettings | None:
        return self._rows.get(tenant_id)

    async def put(self, settings: IdentitySettings) -> None:
        self._rows[settings.tenant_id] = settings


class FakeVisitorIdentities:
    def __init__(
        self,
        identities: dict[tuple[TenantId, str], VisitorIdentity],
        devices: dict[tuple[TenantId, str], VisitorId],
        visitors: dict[VisitorId, tuple[Visitor, str]],
    ) -> None:
        self._identities = identities
        self._devices = devices
        self._visitors = visitors

    async def get_by_sub(self, tenant_id: TenantId, sub: str) -> VisitorIdentity | None:
        return self._identities.get((tenant_id, sub))

    async def get_for_visitor(self, visitor_id: VisitorId) -> VisitorIdentity | None:
        return next((i for i in self._identities.values() if i.visitor_id == visitor_id), None)

    async def put(self, identity: VisitorIdentity) -> None:
        other = await self.get_for_visitor(identity.visitor_id)
        if other is not None and other.sub != identity.sub:
            raise Conflict("this visitor is bound already")
        self._identities[(identity.tenant_id, identity.sub)] = identity
        if identity.name is not None and identity.visitor_id in self._visitors:
            visitor, token_hash = self._visitors[identity.visitor_id]
            self._visitors[identity.visitor_id] = (
                dataclasses.replace(visitor, name=identity.name),
                token_hash,
            )

    async def add_device_token(
        self, tenant_id: TenantId, token_hash: str, visitor_id: VisitorId, at: datetime
    ) -> None:
        if (tenant_id, token_hash) in self._devices:
            raise Conflict("this device token exists already")
        self._devices[(tenant_id, token_hash)] = visitor_id

    async def visitor_by_device_token(
        self, tenant_id: TenantId, token_hash: str
    ) -> VisitorId | None:
        return self._devices.get((tenant_id, token_hash))


class FakeIdentityVerifier:
    """Takes ``valid:<sub>`` (claims ``{"sub"}`` plus ``claims``), refuses anything else
    as a bad signature: the business rules without the cryptography."""

    def __init__(self, claims: Mapping[str, object] | None = None) -> None:
        self.claims = dict(claims or {})

    def verify(self, token: str, settings: IdentitySettings, now: datetime) -> Mapping[str, object]:
        if not token.startswith("valid:"):
            raise invalid("bad signature", "signature")
        return {**self.claims, "sub": token.removeprefix("valid:")}

    def check_key(self, key: IdentityKey) -> None:
        return None
