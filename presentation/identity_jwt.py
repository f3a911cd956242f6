"""``business.identity_ports.IdentityTokenVerifier`` with PyJWT.

Every refusal names the check that failed (``reason``) and nothing of the key. The order
of checks matters: the header is read unverified only to pick the key; the key pins the
one algorithm its token may use, so neither ``none`` nor an HS256 token made with an RSA
public key as its "secret" ever reaches a signature check with the wrong primitive.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from typing import Final

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from business.errors import InvalidInput
from business.identity_model import (
    LEEWAY_SECONDS,
    MAX_TOKEN_LIFETIME_SECONDS,
    IdentityKey,
    IdentitySettings,
    KeyAlgorithm,
    invalid,
)

_REQUIRED: Final = ["exp", "sub", "aud"]


class JwtIdentityVerifier:
    def verify(self, token: str, settings: IdentitySettings, now: datetime) -> Mapping[str, object]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise invalid("the identity token is not a JWT", "malformed") from None
        alg, kid = header.get("alg"), header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise invalid("the identity token's kid must be a string", "malformed")
        key = settings.key_for(kid)
        if key is None:
            which = f"kid {kid[:64]!r}" if kid else "no kid"
            raise invalid(
                f"the identity token names {which}, which this site has no key for", "unknown_kid"
            )
        if alg != key.algorithm.value:
            raise invalid(
                f"the identity token is signed with {str(alg)[:20]!r}; its key takes "
                f"{key.algorithm.value} only",
                "algorithm",
            )
        try:
            claims: dict[str, object] = jwt.decode(
                token,
                _verification_key(key),
                algorithms=[key.algorithm.value],
                audience=settings.audience,
                leeway=LEEWAY_SECONDS,
                options={"require": _REQUIRED, "verify_iat": False},
            )
        except jwt.ExpiredSignatureError:
            raise invalid("the identity token has expired", "expired") from None
        except jwt.ImmatureSignatureError:
            raise invalid("the identity token is not valid yet (nbf)", "not_yet_valid") from None
        except jwt.MissingRequiredClaimError as error:
            raise invalid(
                f"the identity token has no {error.claim!r} claim", "missing_claim"
            ) from None
        except (jwt.InvalidAudienceError, jwt.InvalidIssuerError):
            raise invalid("the identity token is for another audience (aud)", "audience") from None
        except jwt.InvalidSignatureError:
            raise invalid("the identity token's signature is not valid", "signature") from None
        except jwt.InvalidAlgorithmError:
            raise invalid("the identity token's algorithm is not allowed", "algorithm") from None
        except jwt.InvalidTokenError as error:
            raise invalid(f"the identity token is not valid: {error}", "malformed") from None
        _ = now  # PyJWT reads the system clock; ``now`` is for verifiers that take one
        _check_lifetime(claims, time.time())
        return claims

    def check_key(self, key: IdentityKey) -> None:
        if key.is_secret:
            return
        try:
            public = load_pem_public_key(key.material.encode())
        except (ValueError, TypeError):
            raise InvalidInput(f"key {key.kid!r}: not a PEM public key") from None
        if key.algorithm is KeyAlgorithm.RS256 and not isinstance(public, rsa.RSAPublicKey):
            raise InvalidInput(f"key {key.kid!r}: RS256 needs an RSA public key")
        if key.algorithm is KeyAlgorithm.ES256 and not (
            isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256R1)
        ):
            raise InvalidInput(f"key {key.kid!r}: ES256 needs a P-256 elliptic-curve public key")
        if isinstance(public, rsa.RSAPublicKey) and public.key_size < 2048:
            raise InvalidInput(f"key {key.kid!r}: an RSA key must have at least 2048 bits")


def public_key_algorithm(pem: str) -> KeyAlgorithm:
    """RS256 for an RSA public key, ES256 for a P-256 one (what ``--public-key-file``
    infers); ``InvalidInput`` for anything else."""
    try:
        public = load_pem_public_key(pem.encode())
    except (ValueError, TypeError):
        raise InvalidInput("not a PEM public key") from None
    if isinstance(public, rsa.RSAPublicKey):
        return KeyAlgorithm.RS256
    if isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256R1):
        return KeyAlgorithm.ES256
    raise InvalidInput("only RSA (RS256) and P-256 (ES256) public keys are supported")


def _check_lifetime(claims: Mapping[str, object], now: float) -> None:
    """``exp - iat`` (``exp - now`` without an ``iat``) within the maximum lifetime; and
    ``exp - now`` too, so an ``iat`` in the future does not stretch it. Against the
    system clock, as PyJWT's ``exp`` check."""
    exp, iat = claims["exp"], claims.get("iat")
    assert isinstance(exp, int | float), "PyJWT checked exp is a number"
    if iat is not None and (isinstance(iat, bool) or not isinstance(iat, int | float)):
        raise invalid("the identity token's iat must be a number (seconds)", "malformed")
    try:
        starts = now if iat is None else float(iat)
        too_long = (
            float(exp) - starts > MAX_TOKEN_LIFETIME_SECONDS
            or float(exp) - now > MAX_TOKEN_LIFETIME_SECONDS + LEEWAY_SECONDS
        )
    except OverflowError:  # an integer beyond any time (10**400)
        raise invalid("the identity token's exp or iat is out of range", "malformed") from None
    if too_long:
        raise invalid(
            "the identity token is valid for longer than "
            f"{MAX_TOKEN_LIFETIME_SECONDS} seconds (exp - iat): sign short-lived tokens",
            "lifetime",
        )


def _verification_key(key: IdentityKey) -> bytes | rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
    if key.is_secret:
        return key.material.encode()
    public = load_pem_public_key(key.material.encode())
    assert isinstance(public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey), "checked when stored"
    return public
