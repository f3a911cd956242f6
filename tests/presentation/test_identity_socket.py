"""Signed identities at the Socket.IO connect, with real JWTs (PyJWT) and real clients:
the attack matrix, the modes, and the same person on a second device."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from business.identity_model import IdentityKey, IdentityMode, KeyAlgorithm
from business.identity_settings import ConfigureIdentity
from business.model import DEFAULT_TENANT
from tests.harness import World
from tests.presentation.conftest import VisitorFactory

AUDIENCE = "https://shop.example"
SECRET = "an HS256 secret of at least thirty-two bytes"
_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_EC = ec.generate_private_key(ec.SECP256R1())


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


RSA_PEM = _pem(_RSA)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "customer-42",
        "aud": AUDIENCE,
        "exp": now + 300,
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "extra": {"plan": "pro"},
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def hs256(payload: dict[str, Any], **header: Any) -> str:
    return jwt.encode(payload, SECRET, algorithm="HS256", headers=header or None)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw(header: dict[str, Any], payload: dict[str, Any], key: bytes | None) -> str:
    """A token built by hand: what an attacker sends (``alg: none``, an HMAC made with
    the RSA public key as its secret), which PyJWT itself refuses to make."""
    signing = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = b"" if key is None else hmac.new(key, signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{_b64(signature)}"


def tampered(token: str) -> str:
    head, _, signature = token.split(".")
    return f"{head}.{_b64(json.dumps(claims(sub='customer-1')).encode())}.{signature}"


async def configure(world: World, mode: IdentityMode) -> None:
    await world.services.identity_settings.configure(
        ConfigureIdentity(
            tenant_id=DEFAULT_TENANT,
            mode=mode,
            audience=AUDIENCE,
            keys=[
                IdentityKey(kid=None, algorithm=KeyAlgorithm.HS256, material=SECRET),
                IdentityKey(kid="rsa-1", algorithm=KeyAlgorithm.RS256, material=RSA_PEM),
                IdentityKey(kid="ec-1", algorithm=KeyAlgorithm.ES256, material=_pem(_EC)),
            ],
        )
    )


@pytest.fixture
async def optional(world: World) -> None:
    await configure(world, IdentityMode.OPTIONAL)


ATTACKS = [
    pytest.param(lambda: raw({"alg": "none"}, claims(), None), "algorithm", id="alg-none"),
    pytest.param(
        lambda: raw({"alg": "none", "kid": "rsa-1"}, claims(), None), "algorithm", id="none-rsa"
    ),
    pytest.param(
        lambda: raw({"alg": "HS256", "kid": "rsa-1"}, claims(), RSA_PEM.encode()),
        "algorithm",
        id="hs-rs-confusion",
    ),
    pytest.param(
        lambda: jwt.encode(claims(), _RSA, algorithm="RS256", headers={"kid": "ec-1"}),
        "algorithm",
        id="rs-token-for-es-key",
    ),
    pytest.param(lambda: hs256(claims(exp=int(time.time()) - 3600)), "expired", id="expired"),
    pytest.param(
        lambda: hs256(claims(nbf=int(time.time()) + 3600)), "not_yet_valid", id="not-yet-valid"
    ),
    pytest.param(lambda: hs256(claims(aud="https://other.example")), "audience", id="wrong-aud"),
    pytest.param(lambda: hs256(claims(aud=None)), "missing_claim", id="missing-aud"),
    pytest.param(lambda: hs256(claims(exp=None)), "missing_claim", id="missing-exp"),
    pytest.param(
        lambda: hs256(claims(exp=int(time.time()) + 10 * 365 * 86400)), "lifetime", id="ten-years"
    ),
    pytest.param(
        lambda: hs256(claims(iat=int(time.time()) - 86400, exp=int(time.time()) + 300)),
        "lifetime",
        id="exp-minus-iat",
    ),
    pytest.param(
        lambda: hs256(claims(iat=int(time.time()) + 10 * 86400, exp=int(time.time()) + 11 * 86400)),
        "lifetime",
        id="future-iat",
    ),
    pytest.param(lambda: hs256(claims(iat="yesterday")), "malformed", id="iat-not-a-number"),
    pytest.param(lambda: hs256(claims(iat=-(10**400))), "malformed", id="iat-out-of-range"),
    pytest.param(lambda: hs256(claims(), kid="nobody"), "unknown_kid", id="unknown-kid"),
    pytest.param(lambda: tampered(hs256(claims())), "signature", id="tampered-payload"),
    pytest.param(
        lambda: jwt.encode(claims(), "another secret of at least thirty-two bytes!", "HS256"),
        "signature",
        id="other-secret",
    ),
    pytest.param(lambda: "not.a.jwt", "malformed", id="garbage"),
    pytest.param(lambda: hs256(claims(sub="")), "claims", id="empty-sub"),
]


@pytest.mark.parametrize(("make", "reason"), ATTACKS)
@pytest.mark.usefixtures("optional")
async def test_every_bad_token_is_refused_with_a_clear_code(
    new_visitor: VisitorFactory, make: Any, reason: str
) -> None:
    refusal = await new_visitor().refused({"tenant": "default", "identity": make()})
    assert refusal["data"]["code"] == "identity_invalid"
    assert refusal["data"]["reason"] == reason
    assert refusal["data"]["message"].startswith("the identity token")
    assert SECRET not in refusal["data"]["message"]


@pytest.mark.usefixtures("optional")
async def test_valid_tokens_of_each_key_are_taken(new_visitor: VisitorFactory) -> None:
    tokens = [
        hs256(claims()),
        jwt.encode(claims(), _RSA, algorithm="RS256", headers={"kid": "rsa-1"}),
        jwt.encode(claims(), _EC, algorithm="ES256", headers={"kid": "ec-1"}),
        # The longest a token may live: a day from its iat.
        hs256(claims(iat=int(time.time()), exp=int(time.time()) + 86400)),
    ]
    ids = set()
    for token in tokens:
        session = await new_visitor().connect({"tenant": "default", "identity": token})
        ids.add(session["visitor_id"])
    assert len(ids) == 1  # one sub, one visitor


@pytest.mark.parametrize(
    ("mode", "with_token", "outcome"),
    [
        (IdentityMode.OFF, False, "ok"),
        (IdentityMode.OFF, True, "identity_disabled"),
        (IdentityMode.OPTIONAL, False, "ok"),
        (IdentityMode.OPTIONAL, True, "ok"),
        (IdentityMode.REQUIRED, False, "identity_required"),
        (IdentityMode.REQUIRED, True, "ok"),
    ],
)
async def test_the_mode_matrix(
    world: World, new_visitor: VisitorFactory, mode: IdentityMode, with_token: bool, outcome: str
) -> None:
    await configure(world, mode)
    auth = {"tenant": "default"} | ({"identity": hs256(claims())} if with_token else {})
    if outcome == "ok":
        assert (await new_visitor().connect(auth))["visitor_id"]
    else:
        refusal = await new_visitor().refused(auth)
        assert refusal["data"]["code"] == outcome


@pytest.mark.usefixtures("optional")
async def test_a_second_device_with_the_same_identity_sees_the_first_ones_history(
    new_visitor: VisitorFactory,
) -> None:
    laptop = new_visitor()
    await laptop.connect({"tenant": "default", "identity": hs256(claims())})
    conversation_id = await laptop.start("Where is my order?")

    phone = new_visitor()
    session = await phone.connect({"tenant": "default", "identity": hs256(claims())})
    assert session["visitor_id"] == laptop.session["visitor_id"]
    assert session["visitor_token"] != laptop.token
    assert [c["id"] for c in session["conversations"]] == [conversation_id]
    synced = await phone.ok("sync", {"conversation_id": conversation_id, "after_seq": 0})
    texts = [e.get("text") for e in synced["events"] if e["type"] == "message"]
    assert texts == ["Where is my order?"]

    # The phone comes back by its own token; without the identity (logged out) it is a
    # new anonymous visitor that sees none of it.
    await phone.disconnect()
    back = new_visitor()
    again = await back.connect(
        {
            "tenant": "default",
            "visitor_token": session["visitor_token"],
            "identity": hs256(claims()),
        }
    )
    assert again["visitor_token"] == session["visitor_token"]
    logged_out = await new_visitor().connect(
        {"tenant": "default", "visitor_token": session["visitor_token"]}
    )
    assert logged_out["visitor_id"] != session["visitor_id"]
    assert logged_out["conversations"] == []
