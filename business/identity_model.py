"""Signed visitor identities: a tenant's verification settings and what a verified
identity says about the visitor.

A site that logs its customers in signs a short-lived JWT for the widget; the engine
checks it with the tenant's keys and takes its ``sub`` as who the visitor is (the same
person on any device gets the same visitor, and so the same history). Everything here
is plain data and its validation; the check of the signature itself is the
``IdentityTokenVerifier`` port's (PyJWT, in ``presentation.identity_jwt``).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from business.errors import IdentityRejected, InvalidInput
from business.model import TenantId, VisitorId
from business.validation import check_storable

MAX_TOKEN_LENGTH: Final = 8192
"""Characters of a JWT at most: a few kilobytes hold any honest identity."""
MAX_KEYS: Final = 10
MIN_SECRET_BYTES: Final = 32
"""An HS256 secret shorter than the hash (RFC 7518, 3.2) is refused."""
MAX_KEY_LENGTH: Final = 16384
MAX_SUB: Final = 255
MAX_NAME: Final = 100
MAX_EMAIL: Final = 254
MAX_EXTRA_FIELDS: Final = 20
MAX_EXTRA_NAME: Final = 64
MAX_EXTRA_VALUE: Final = 500
MAX_FIELD_NAME: Final = 100
"""A custom field's name, as ``business.validation.check_fields`` bounds it."""
RESERVED_FIELDS: Final = frozenset({"name", "email", "avatar"})
"""What ``identify()`` gives by its own keys, never as an extra value."""
LEEWAY_SECONDS: Final = 60
"""Clock skew allowed on ``exp`` and ``nbf`` between the site and the engine."""
MAX_TOKEN_LIFETIME_SECONDS: Final = 86400
"""How long an identity token may be valid at most: ``exp - iat`` (``exp - now`` without
an ``iat``), else it is refused (reason ``lifetime``). A token leaks with the page that
carries it (a shared cache, a copied HTML file); one valid for years is a password."""
MAX_DEVICE_TOKENS: Final = 20
"""Device tokens one identified visitor keeps: the least recently used go first."""
DEVICE_TOKEN_IDLE_DAYS: Final = 90
"""A device token unused this long no longer reaches its visitor, and is deleted."""

_KID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_AUDIENCE_MAX: Final = 255

IDENTITY_REQUIRED: Final = "identity_required"
IDENTITY_INVALID: Final = "identity_invalid"
IDENTITY_DISABLED: Final = "identity_disabled"


class IdentityMode(enum.StrEnum):
    OFF = "off"
    """No identities: a connect that sends one is refused (``identity_disabled``), so a
    site that believes it identifies its visitors learns at once that it does not."""
    OPTIONAL = "optional"
    """Anonymous visitors welcome; an identity, if sent, must be valid."""
    REQUIRED = "required"
    """Only visitors with a valid identity may connect."""


class KeyAlgorithm(enum.StrEnum):
    HS256 = "HS256"
    RS256 = "RS256"
    ES256 = "ES256"


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityKey:
    """One verification key, pinned to its algorithm: a token signed with another is
    refused whatever its header says (no HS256 token checked against an RSA key)."""

    kid: str | None
    """What the identity token's header ``kid`` names; None: the key of tokens without a kid
    (an HS256 secret only)."""
    algorithm: KeyAlgorithm
    material: str
    """The HS256 secret, or the public key in PEM. Secrets are never shown again."""

    @property
    def is_secret(self) -> bool:
        return self.algorithm is KeyAlgorithm.HS256


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentitySettings:
    tenant_id: TenantId
    mode: IdentityMode = IdentityMode.OFF
    audience: str | None = None
    """The ``aud`` every token must carry (e.g. the site's address)."""
    keys: Sequence[IdentityKey] = ()
    extra_fields: Mapping[str, str] = field(default_factory=dict)
    """Extra key -> the custom field it is stored as (``business.identity_extra``)."""
    updated_at: datetime | None = None
    """None: never changed (identities off)."""

    def key_for(self, kid: str | None) -> IdentityKey | None:
        return next((key for key in self.keys if key.kid == kid), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedIdentity:
    """What a valid token says: ``sub`` is who; the rest is shown to agents."""

    sub: str
    name: str | None = None
    email: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitorIdentity:
    """A visitor bound to a verified identity: one visitor per ``(tenant, sub)``."""

    tenant_id: TenantId
    sub: str
    visitor_id: VisitorId
    name: str | None
    email: str | None
    extra: Mapping[str, str]
    verified_at: datetime | None
    """When a token last verified it (its claims are from that token). None: provisional,
    no token has yet: an outbound thread to a ``sub`` nobody had signed in as gave it a
    visitor (``business.outbound_visitors``), which the first signed visit may give up
    for the visitor it comes as (``business.identities``)."""

    @property
    def provisional(self) -> bool:
        return self.verified_at is None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceToken:
    """Another browser's token of an identified visitor (its hash is the key)."""

    visitor_id: VisitorId
    last_used_at: datetime


def invalid(message: str, reason: str) -> IdentityRejected:
    return IdentityRejected(message, code=IDENTITY_INVALID, reason=reason)


def check_settings(settings: IdentitySettings) -> IdentitySettings:
    """``InvalidInput`` naming the first problem: an audience and at least one key when
    identities are on, kids unique and well formed, a secret long enough."""
    if settings.audience is not None:
        check_storable(settings.audience, "audience")
        if not 1 <= len(settings.audience) <= _AUDIENCE_MAX:
            raise InvalidInput(f"audience must be 1 to {_AUDIENCE_MAX} characters")
    if len(settings.keys) > MAX_KEYS:
        raise InvalidInput(f"at most {MAX_KEYS} keys")
    seen: set[str | None] = set()
    for key in settings.keys:
        name = f"key {key.kid!r}" if key.kid else "the key without a kid"
        if key.kid is not None and not _KID.match(key.kid):
            raise InvalidInput(
                f"kid {key.kid[:70]!r} must be 1 to 64 letters, digits, '.', '_', ':' or '-'"
            )
        if key.kid in seen:
            raise InvalidInput(f"{name} is given twice")
        seen.add(key.kid)
        if key.kid is None and not key.is_secret:
            raise InvalidInput(f"a {key.algorithm} public key needs a kid")
        if not key.material or len(key.material) > MAX_KEY_LENGTH:
            raise InvalidInput(f"{name}: the key must be 1 to {MAX_KEY_LENGTH} characters")
        check_storable(key.material, name)
        if key.is_secret and len(key.material.encode()) < MIN_SECRET_BYTES:
            raise InvalidInput(f"{name}: an HS256 secret must be at least {MIN_SECRET_BYTES} bytes")
    check_extra_fields(settings.extra_fields)
    if settings.mode is not IdentityMode.OFF:
        if settings.audience is None:
            raise InvalidInput(f"mode {settings.mode} needs an audience")
        if not settings.keys:
            raise InvalidInput(f"mode {settings.mode} needs at least one key")
    return settings


def check_extra_fields(extra_fields: Mapping[str, str]) -> None:
    """At most 20 entries; an extra key as a token's or ``identify()``'s (1 to 64
    characters), a field name as any custom field's (1 to 100) but not ``name``,
    ``email`` or ``avatar`` (``identify()``'s own), and no field named twice."""
    if len(extra_fields) > MAX_EXTRA_FIELDS:
        raise InvalidInput(f"at most {MAX_EXTRA_FIELDS} extra field mappings")
    seen: set[str] = set()
    for key, name in extra_fields.items():
        if not 1 <= len(key) <= MAX_EXTRA_NAME:
            raise InvalidInput(f"extra keys must be 1 to {MAX_EXTRA_NAME} characters")
        check_storable(key, "extra key")
        if not 1 <= len(name) <= MAX_FIELD_NAME:
            raise InvalidInput(f"custom field names must be 1 to {MAX_FIELD_NAME} characters")
        check_storable(name, "custom field name")
        if name in RESERVED_FIELDS:
            raise InvalidInput(f"extra.{key[:40]} cannot be mapped to {name}")
        if name in seen:
            raise InvalidInput(f"custom field {name[:40]!r} is mapped twice")
        seen.add(name)


def identity_from_claims(claims: Mapping[str, object]) -> VerifiedIdentity:
    """The identity of a token whose signature, ``exp``, ``nbf`` and ``aud`` are checked:
    ``sub`` required; ``name``, ``email`` and ``extra`` (an object of at most 20 short
    strings, numbers or booleans) optional. Anything else out of shape refuses the token
    (``identity_invalid``, reason ``claims``) rather than being dropped unseen."""
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.strip() or len(sub) > MAX_SUB:
        raise invalid(
            f"the identity token's sub must be a string of 1 to {MAX_SUB} characters", "claims"
        )
    name = _claim_text(claims, "name", MAX_NAME)
    email = _claim_text(claims, "email", MAX_EMAIL)
    if email is not None and "@" not in email:
        raise invalid("the identity token's email is not an e-mail address", "claims")
    extra = claims.get("extra")
    values: dict[str, str] = {}
    if extra is not None:
        if not isinstance(extra, dict):
            raise invalid("the identity token's extra must be an object", "claims")
        if len(extra) > MAX_EXTRA_FIELDS:
            raise invalid(
                f"the identity token's extra has more than {MAX_EXTRA_FIELDS} fields", "claims"
            )
        for key, value in extra.items():
            if not isinstance(key, str) or not 1 <= len(key) <= MAX_EXTRA_NAME:
                raise invalid(
                    "the identity token's extra field names must be 1 to "
                    f"{MAX_EXTRA_NAME} characters",
                    "claims",
                )
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, int | float | str):
                text = str(value)
            else:
                raise invalid(
                    f"the identity token's extra.{key[:40]} must be a string, number or boolean",
                    "claims",
                )
            if len(text) > MAX_EXTRA_VALUE:
                raise invalid(
                    f"the identity token's extra.{key[:40]} is longer than "
                    f"{MAX_EXTRA_VALUE} characters",
                    "claims",
                )
            values[_storable(key)] = _storable(text)
    return VerifiedIdentity(sub=_storable(sub), name=name, email=email, extra=values)


def _claim_text(claims: Mapping[str, object], key: str, limit: int) -> str | None:
    value = claims.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise invalid(
            f"the identity token's {key} must be a string of at most {limit} characters", "claims"
        )
    return _storable(value.strip()) or None


def _storable(text: str) -> str:
    try:
        return check_storable(text, "claim")
    except InvalidInput:
        raise invalid(
            "the identity token's claims hold a NUL or unpaired surrogate", "claims"
        ) from None
