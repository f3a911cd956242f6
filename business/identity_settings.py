"""Reading and changing a tenant's signed-identity settings (``business.identity_model``):
the mode, the audience, the verification keys and the extra fields' map."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from business.errors import NotFound
from business.identity_model import IdentityKey, IdentityMode, IdentitySettings, check_settings
from business.identity_ports import IdentityTokenVerifier
from business.model import TenantId
from business.ports import Clock
from business.transactions import Transactions

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigureIdentity:
    """Change what is given; the rest stays."""

    tenant_id: TenantId
    mode: IdentityMode | None = None
    audience: str | None = None
    keys: Sequence[IdentityKey] | None = None
    """All the keys, replacing the stored ones."""
    add_keys: Sequence[IdentityKey] = ()
    """Added, each replacing a stored key of the same kid."""
    remove_kids: Sequence[str | None] = ()
    """Kids of stored keys to drop (None: the key without a kid); an unknown one is
    ``NotFound``."""
    extra_fields: Mapping[str, str] | None = None
    """The whole extra key -> custom field map, replacing the stored one ({}: none)."""


class IdentitySettingsService:
    def __init__(
        self, *, transactions: Transactions, clock: Clock, verifier: IdentityTokenVerifier | None
    ) -> None:
        self._tx = transactions
        self._clock = clock
        self._verifier = verifier

    async def get(self, tenant_id: TenantId) -> IdentitySettings:
        """The tenant's settings (identities off when never changed); ``NotFound`` for
        an unknown tenant."""
        async with self._tx.read() as tx:
            if await tx.tenants.get(tenant_id) is None:
                raise NotFound(f"unknown tenant {tenant_id!r}")
            stored = await tx.identity_settings.get(tenant_id)
        return stored or IdentitySettings(tenant_id=tenant_id)

    async def configure(self, cmd: ConfigureIdentity) -> IdentitySettings:
        """``InvalidInput`` naming the first problem (nothing stored): see
        ``check_settings``, and every key must load for its algorithm."""
        async with self._tx() as tx:
            if await tx.tenants.get(cmd.tenant_id) is None:
                raise NotFound(f"unknown tenant {cmd.tenant_id!r}")
            current = await tx.identity_settings.get(cmd.tenant_id) or IdentitySettings(
                tenant_id=cmd.tenant_id
            )
            keys = list(current.keys if cmd.keys is None else cmd.keys)
            for kid in cmd.remove_kids:
                if not any(key.kid == kid for key in keys):
                    raise NotFound(f"no key {kid!r}" if kid else "no key without a kid")
                keys = [key for key in keys if key.kid != kid]
            for added in cmd.add_keys:
                keys = [key for key in keys if key.kid != added.kid] + [added]
            changed = check_settings(
                dataclasses.replace(
                    current,
                    mode=cmd.mode or current.mode,
                    audience=cmd.audience if cmd.audience is not None else current.audience,
                    keys=tuple(keys),
                    extra_fields=(
                        current.extra_fields if cmd.extra_fields is None else dict(cmd.extra_fields)
                    ),
                    updated_at=self._clock.now(),
                )
            )
            for key in changed.keys:
                if self._verifier is not None:
                    self._verifier.check_key(key)
            await tx.identity_settings.put(changed)
            await tx.commit()
        logger.info(
            "tenant %s: signed identities %s, %d keys",
            cmd.tenant_id,
            changed.mode,
            len(changed.keys),
        )
        return changed
