"""The ports of signed identities (``business.identities``), apart from
``business.ports`` to keep that module readable; ``business.ports.UnitOfWork`` offers the
repositories as ``identity_settings`` and ``visitor_identities``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from business.identity_model import DeviceToken, IdentityKey, IdentitySettings, VisitorIdentity
from business.model import TenantId, VisitorId


class IdentitySettingsRepository(Protocol):
    """One row per tenant that changed them (none: identities off)."""

    async def get(self, tenant_id: TenantId) -> IdentitySettings | None: ...

    async def put(self, settings: IdentitySettings) -> None:
        """Insert, or replace the tenant's, in one statement."""
        ...


class VisitorIdentityRepository(Protocol):
    """Which visitor each verified ``sub`` is, and the extra device tokens that reach an
    identified visitor from other browsers."""

    async def get_by_sub(self, tenant_id: TenantId, sub: str) -> VisitorIdentity | None: ...

    async def get_for_visitor(self, visitor_id: VisitorId) -> VisitorIdentity | None: ...

    async def put(self, identity: VisitorIdentity) -> None:
        """Bind the visitor to the sub, or update the claims of the binding; also sets
        the visitor's display name to the identity's name when it has one. A second
        binding of the same ``(tenant, sub)`` or the same visitor is ``Conflict``
        (here or at commit), but for one thing: a provisional binding (``verified_at``
        None) moves to another visitor when ``identity`` is verified."""
        ...

    async def add_device_token(
        self, tenant_id: TenantId, token_hash: str, visitor_id: VisitorId, at: datetime
    ) -> None:
        """Another token for ``visitor_id`` (a new device of an identified visitor),
        used last ``at``."""
        ...

    async def device_token(self, tenant_id: TenantId, token_hash: str) -> DeviceToken | None: ...

    async def touch_device_token(
        self, tenant_id: TenantId, token_hash: str, at: datetime, *, unless_after: datetime
    ) -> None:
        """Mark the device token used ``at``, unless its last use is after
        ``unless_after`` already (a write per connect would be wasted); no such token:
        nothing."""
        ...

    async def prune_device_tokens(
        self,
        tenant_id: TenantId,
        visitor_id: VisitorId,
        *,
        keep: int,
        unused_before: datetime,
        limit: int,
    ) -> int:
        """Delete the visitor's device tokens but the ``keep`` most recently used, and
        at most ``limit`` of the tenant's device tokens last used before
        ``unused_before``: the number deleted."""
        ...


class IdentityTokenVerifier(Protocol):
    """Checks a signed identity token (a JWT) against a tenant's keys."""

    def verify(self, token: str, settings: IdentitySettings, now: datetime) -> Mapping[str, object]:
        """The token's claims once its signature is valid for the key its ``kid`` names,
        with that key's algorithm only (``none`` never), ``exp`` present and not past,
        ``nbf`` (if any) reached, and ``aud`` the tenant's audience — each within
        ``LEEWAY_SECONDS``. Otherwise ``IdentityRejected`` (``identity_invalid``) with the
        failed check as ``reason``: ``malformed``, ``algorithm``, ``unknown_kid``,
        ``signature``, ``expired``, ``not_yet_valid``, ``audience``, ``missing_claim``, or
        ``lifetime`` for one valid longer than ``MAX_TOKEN_LIFETIME_SECONDS``."""
        ...

    def check_key(self, key: IdentityKey) -> None:
        """``InvalidInput`` if the key's material cannot verify its algorithm's tokens
        (not a PEM public key, an RSA key given as ES256 …)."""
        ...
