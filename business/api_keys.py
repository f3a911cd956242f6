"""API keys: who may call the REST API, and for which tenant.

A key reads ``ce_<id>_<secret>``: the id (16 hex digits) is public and names the key in
lists and revocations; the secret is 32 random bytes (43 base64url characters) and is
shown once, when the key is made. Only a SHA-256 hash of the secret is stored: a
secret of 256 random bits needs no slow hash, because there is nothing to guess from a
dictionary. Hashes are compared in constant time.

Keys that passed are remembered for ``cache_seconds`` (they are checked on every
request); revoking a key forgets it at once in this process, other engine processes
stop accepting it at the latest ``cache_seconds`` later.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from business import commands as c
from business.errors import InvalidInput, NotFound, Unauthenticated
from business.model import ApiKey, ApiKeyId, ApiKeyScope, TenantId
from business.ports import Clock
from business.transactions import Transactions
from business.validation import check_storable

logger = logging.getLogger(__name__)

KEY_PREFIX = "ce"
SECRET_BYTES = 32
_ID_HEX = 16
_KEY_RE = re.compile(rf"{KEY_PREFIX}_([0-9a-f]{{{_ID_HEX}}})_([A-Za-z0-9_-]{{43}})")
_KEY_ID_RE = re.compile(rf"[0-9a-f]{{{_ID_HEX}}}")
NAME_MAX = 100
MAX_REMEMBERED = 10_000
"""Keys remembered as authenticated at most (the least recently checked go first)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CreatedApiKey:
    key: ApiKey
    secret: str
    """The whole key to present (``ce_<id>_<secret>``); it is never shown again."""


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_key_id(value: str) -> ApiKeyId:
    if not _KEY_ID_RE.fullmatch(value):
        raise InvalidInput(f"an API key id is {_ID_HEX} hexadecimal digits")
    return ApiKeyId(value)


class ApiKeyService:
    def __init__(
        self,
        *,
        transactions: Transactions,
        clock: Clock,
        cache_seconds: float = 30.0,
        touch_seconds: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._tx = transactions
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._touch_seconds = touch_seconds
        self._monotonic = monotonic
        # key id -> (valid until, secret hash, key): a plain bounded map (the business
        # layer uses no cache library); an entry is only ever what the database said.
        self._passed: OrderedDict[ApiKeyId, tuple[float, str, ApiKey]] = OrderedDict()
        self._revocations = 0
        """Counts revocations in this process: a key read before one is not remembered
        after it (the read may predate the revocation it raced with)."""
        self._touched: dict[ApiKeyId, float] = {}

    async def create(self, cmd: c.CreateApiKey) -> CreatedApiKey:
        """A new key; its secret is in the result and nowhere else. A ``platform`` key
        belongs to no tenant, every other key to an existing one."""
        if (cmd.scope is ApiKeyScope.PLATFORM) != (cmd.tenant_id is None):
            raise InvalidInput(
                "a platform key belongs to no tenant"
                if cmd.scope is ApiKeyScope.PLATFORM
                else f"a key with scope {cmd.scope.value} needs a tenant"
            )
        name = check_storable(cmd.name.strip(), "key name")
        if len(name) > NAME_MAX:
            raise InvalidInput(f"a key name must be at most {NAME_MAX} characters")
        key_id = ApiKeyId(secrets.token_hex(_ID_HEX // 2))
        secret = secrets.token_urlsafe(SECRET_BYTES)
        key = ApiKey(
            id=key_id,
            tenant_id=cmd.tenant_id,
            scope=cmd.scope,
            name=name,
            created_at=self._clock.now(),
        )
        async with self._tx() as tx:
            if cmd.tenant_id is not None and await tx.tenants.get(cmd.tenant_id) is None:
                raise NotFound(f"unknown tenant {cmd.tenant_id!r}")
            await tx.api_keys.add(key, hash_secret(secret))
            await tx.commit()
        logger.info(
            "API key %s (%s) made for %s", key.id, key.scope.value, key.tenant_id or "the platform"
        )
        return CreatedApiKey(key=key, secret=f"{KEY_PREFIX}_{key_id}_{secret}")

    async def list(
        self,
        tenant_id: TenantId | None = None,
        *,
        after: ApiKeyId | None = None,
        limit: int = 1000,
    ) -> Sequence[ApiKey]:
        """The keys of ``tenant_id`` (None: all of them), revoked ones too, by id."""
        async with self._tx.read() as tx:
            return await tx.api_keys.list(tenant_id, after=after, limit=limit)

    async def get(self, key_id: ApiKeyId, *, tenant_id: TenantId | None = None) -> ApiKey:
        """The key; ``NotFound`` also for a key of another tenant than ``tenant_id``."""
        async with self._tx.read() as tx:
            stored = await tx.api_keys.get(key_id)
        if stored is None or (tenant_id is not None and stored.key.tenant_id != tenant_id):
            raise NotFound(f"unknown API key {key_id!r}")
        return stored.key

    async def revoke(self, cmd: c.RevokeApiKey) -> ApiKey:
        """Revoke the key for good; revoking it again changes nothing. ``NotFound`` for a
        key of another tenant than ``cmd.tenant_id``, exactly as for an unknown one."""
        now = self._clock.now()
        async with self._tx() as tx:
            stored = await tx.api_keys.get(cmd.key_id)
            if stored is None or (
                cmd.tenant_id is not None and stored.key.tenant_id != cmd.tenant_id
            ):
                raise NotFound(f"unknown API key {cmd.key_id!r}")
            key = stored.key
            if key.revoked_at is None:
                await tx.api_keys.revoke(key.id, now)
                await tx.commit()
                key = dataclasses.replace(key, revoked_at=now)
        self._revocations += 1
        self._passed.pop(key.id, None)
        logger.info("API key %s revoked", key.id)
        return key

    async def authenticate(self, presented: str | None) -> ApiKey:
        """The key that ``presented`` is; ``Unauthenticated`` for nothing, a malformed
        value, an unknown or revoked key or a wrong secret."""
        if not presented:
            raise Unauthenticated("an API key is required (Authorization: Bearer <key>)")
        match = _KEY_RE.fullmatch(presented) if len(presented) < 100 else None
        if match is None:
            raise Unauthenticated("unknown API key")
        key_id, secret_hash = ApiKeyId(match[1]), hash_secret(match[2])
        now = self._monotonic()
        remembered = self._passed.get(key_id)
        if remembered is not None and remembered[0] > now:
            self._passed.move_to_end(key_id)
            _, stored_hash, key = remembered
            fresh = False
        else:
            revocations = self._revocations
            async with self._tx.read() as tx:
                stored = await tx.api_keys.get(key_id)
            if stored is None:
                raise Unauthenticated("unknown API key")
            key, stored_hash = stored.key, stored.secret_hash
            # Worth remembering only if no revocation here raced with the read.
            fresh = revocations == self._revocations
        if not hmac.compare_digest(stored_hash, secret_hash):
            raise Unauthenticated("unknown API key")
        if key.revoked_at is not None:
            self._passed.pop(key_id, None)
            raise Unauthenticated("this API key was revoked")
        if fresh:
            self._remember(key, stored_hash, now)
        await self._touch(key, now)
        return key

    def _remember(self, key: ApiKey, stored_hash: str, now: float) -> None:
        if self._cache_seconds <= 0:
            return
        self._passed[key.id] = (now + self._cache_seconds, stored_hash, key)
        self._passed.move_to_end(key.id)
        while len(self._passed) > MAX_REMEMBERED:
            self._passed.popitem(last=False)

    async def _touch(self, key: ApiKey, now: float) -> None:
        # last_used_at is for people deciding which keys to revoke: a minute is precise
        # enough, and a write per request (on SQLite: the one writer) would not be.
        last = self._touched.get(key.id)
        if last is not None and now - last < self._touch_seconds:
            return
        if len(self._touched) >= MAX_REMEMBERED:
            self._touched.clear()
        self._touched[key.id] = now
        try:
            async with self._tx() as tx:
                await tx.api_keys.touch(key.id, self._clock.now())
                await tx.commit()
        except Exception:
            # Bookkeeping only: a key that passed is not refused because its last use
            # could not be written (the next request after the interval tries again).
            self._touched.pop(key.id, None)
            logger.warning("recording the use of API key %s failed", key.id, exc_info=True)
