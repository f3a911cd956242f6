"""``/identity-settings``: how the tenant's sites sign their visitors' identities (mode,
audience, verification keys, the extra fields' map), as ``chat-engine tenant identity``
changes them.

Through ``IdentitySettingsService``; ``business.identity_model`` checks every value and
names the first problem, and each public key must load for its algorithm. An HS256
secret is write-only: a read says only that it is set.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from business.errors import InvalidInput
from business.identity_model import (
    MAX_EXTRA_FIELDS,
    MAX_KEY_LENGTH,
    MAX_KEYS,
    IdentityKey,
    IdentityMode,
    IdentitySettings,
    KeyAlgorithm,
)
from business.identity_settings import ConfigureIdentity
from presentation.api.registry import ADMINS, Body, Call, Empty, Resource

resource = Resource(
    "identity-settings",
    "Signed identities: your site signs a short-lived JWT for a logged-in customer and "
    "the widget passes it; its `sub` is who the visitor is, on every device (see the "
    'integrator guide, "Signing identities").',
)

Kid = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
Mode = Literal["off", "optional", "required"]
Algorithm = Literal["HS256", "RS256", "ES256"]


class KeyIn(Body):
    kid: Kid | None = Field(
        None, description="the token header's `kid` it answers; only an HS256 key may have none"
    )
    algorithm: Algorithm = Field(description="the one algorithm tokens of this key may use")
    secret: str | None = Field(
        None,
        min_length=32,
        max_length=MAX_KEY_LENGTH,
        description="HS256: the shared secret, at least 32 bytes (never returned)",
    )
    public_key: str | None = Field(
        None,
        max_length=MAX_KEY_LENGTH,
        description="RS256 (RSA, 2048 bits or more) or ES256 (P-256): the PEM public key",
    )


class IdentitySettingsIn(Body):
    mode: Mode | None = Field(
        None,
        description="`off`: a connect with an identity is refused; `optional`: anonymous "
        "visitors welcome, an identity must be valid; `required`: a valid identity only",
    )
    audience: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = Field(
        None, description="the `aud` every token must carry"
    )
    keys: list[KeyIn] | None = Field(
        None, max_length=MAX_KEYS, description="all the keys, replacing the stored ones"
    )
    extra_fields: dict[str, str] | None = Field(
        None,
        max_length=MAX_EXTRA_FIELDS,
        description="the whole map, replacing the stored one (`{}`: none): an identity's "
        "`extra` key -> the custom field its value is stored as; unmapped keys keep "
        "their own name",
    )


class KeyOut(BaseModel):
    kid: str | None
    algorithm: Algorithm
    secret: Literal["set"] | None = Field(description="HS256: `set` (the secret is never shown)")
    public_key: str | None = Field(description="RS256 and ES256: the PEM public key")


class IdentitySettingsOut(BaseModel):
    mode: Mode
    audience: str | None
    keys: list[KeyOut]
    extra_fields: dict[str, str] = Field(
        description="an identity's `extra` key -> the custom field its value is stored as"
    )
    updated_at: datetime | None = Field(description="null: never changed (off)")


def settings_out(settings: IdentitySettings) -> IdentitySettingsOut:
    return IdentitySettingsOut(
        mode=settings.mode.value,
        audience=settings.audience,
        keys=[
            KeyOut(
                kid=key.kid,
                algorithm=key.algorithm.value,
                secret="set" if key.is_secret else None,
                public_key=None if key.is_secret else key.material,
            )
            for key in settings.keys
        ],
        extra_fields=dict(settings.extra_fields),
        updated_at=settings.updated_at,
    )


def _key(key: KeyIn) -> IdentityKey:
    algorithm = KeyAlgorithm(key.algorithm)
    material = key.secret if algorithm is KeyAlgorithm.HS256 else key.public_key
    other = key.public_key if algorithm is KeyAlgorithm.HS256 else key.secret
    if material is None or other is not None:
        wanted = "secret" if algorithm is KeyAlgorithm.HS256 else "public_key"
        raise InvalidInput(f"an {algorithm} key takes `{wanted}` only")
    return IdentityKey(kid=key.kid, algorithm=algorithm, material=material)


@resource.route(
    "GET",
    "/identity-settings",
    summary="Read the signed-identity settings",
    scopes=ADMINS,
    params=Empty,
    query=Empty,
    body=Empty,
    response=IdentitySettingsOut,
)
async def get_identity_settings(call: Call[Empty, Empty, Empty]) -> IdentitySettingsOut:
    """Mode, audience, keys and the extra fields' map; an HS256 secret shows only as `set`."""
    return settings_out(await call.services.identity_settings.get(call.tenant_id))


@resource.route(
    "PATCH",
    "/identity-settings",
    summary="Change the signed-identity settings",
    scopes=ADMINS,
    params=Empty,
    query=Empty,
    body=IdentitySettingsIn,
    response=IdentitySettingsOut,
)
async def patch_identity_settings(
    call: Call[Empty, Empty, IdentitySettingsIn],
) -> IdentitySettingsOut:
    """What the body gives changes; `keys` replaces all the keys. Identities on
    (`optional`, `required`) need an audience and a key."""
    body = call.body
    stored = await call.services.identity_settings.configure(
        ConfigureIdentity(
            tenant_id=call.tenant_id,
            mode=None if body.mode is None else IdentityMode(body.mode),
            audience=body.audience,
            keys=None if body.keys is None else [_key(key) for key in body.keys],
            extra_fields=body.extra_fields,
        )
    )
    return settings_out(stored)
