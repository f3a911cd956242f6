"""In-memory fakes of the signed-identity ports (``tests.fakes`` wires the repositories
into ``FakeUnitOfWork``), and a verifier that takes ``"valid:<sub>"`` tokens."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime

from business.errors import Conflict
from business.identity_model import (
    DeviceToken,
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
        devices: dict[tuple[TenantId, str], DeviceToken],
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
        bound = self._identities.get((identity.tenant_id, identity.sub))
        if (
            bound is not None
            and bound.visitor_id != identity.visitor_id
            and (not bound.provisional or identity.provisional)
        ):
            raise Conflict("this identity is bound to another visitor already")
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
        self._devices[(tenant_id, token_hash)] = DeviceToken(visitor_id=visitor_id, last_used_at=at)

    async def device_token(self, tenant_id: TenantId, token_hash: str) -> DeviceToken | None:
        return self._devices.get((tenant_id, token_hash))

    async def touch_device_token(
        self, tenant_id: TenantId, token_hash: str, at: datetime, *, unless_after: datetime
    ) -> None:
        found = self._devices.get((tenant_id, token_hash))
        if found is not None and found.last_used_at <= unless_after:
            self._devices[(tenant_id, token_hash)] = dataclasses.replace(found, last_used_at=at)

    async def prune_device_tokens(
        self,
        tenant_id: TenantId,
        visitor_id: VisitorId,
        *,
        keep: int,
        unused_before: datetime,
        limit: int,
    ) -> int:
        mine = sorted(
            (key for key, device in self._devices.items() if key[0] == tenant_id),
            key=lambda key: self._devices[key].last_used_at,
            reverse=True,
        )
        surplus = [key for key in mine if self._devices[key].visitor_id == visitor_id][keep:]
        idle = [key for key in mine if self._devices[key].last_used_at < unused_before][:limit]
        gone = {*surplus, *idle}
        for key in gone:
            del self._devices[key]
        return len(gone)


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
