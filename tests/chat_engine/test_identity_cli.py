"""``chat-engine tenant identity`` against a real SQLite file: what an administrator
types and sees; the secret is never printed."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.chat_engine.test_cli import db_url, run

SECRET = "a shared secret of at least thirty-two bytes"


def _pem(path: Path, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return str(path)


def test_identity_is_configured_key_by_key_and_shown_without_the_secret(tmp_path: Path) -> None:
    url = db_url(tmp_path)
    code, output = run(["tenant", "identity", "default", "--database-url", url])
    assert (code, output.splitlines()[0]) == (0, "signed identities of tenant default: off")

    secret = tmp_path / "secret"
    secret.write_text(SECRET + "\n")
    code, output = run(
        [
            *("tenant", "identity", "default", "--mode", "required"),
            *("--audience", "https://shop.example", "--hs256-secret-file", str(secret)),
            *("--database-url", url),
        ]
    )
    assert code == 0, output
    assert output == (
        "signed identities of tenant default: required\n"
        "audience: https://shop.example\n"
        "key (no kid): HS256 (secret set)\n"
    )
    assert SECRET not in output

    rsa_file = _pem(tmp_path / "rsa.pem", rsa.generate_private_key(65537, 2048))
    ec_file = _pem(tmp_path / "ec.pem", ec.generate_private_key(ec.SECP256R1()))
    for path, kid in ((rsa_file, "r1"), (ec_file, "e1")):
        code, output = run(
            [
                *("tenant", "identity", "default", "--public-key-file", path),
                *("--kid", kid, "--database-url", url),
            ]
        )
        assert code == 0, output
    assert output.splitlines()[-2:] == ["key r1: RS256 (public key)", "key e1: ES256 (public key)"]

    code, output = run(
        ["tenant", "identity", "default", "--remove-key", "-", "--database-url", url]
    )
    assert "no kid" not in output
    assert output.splitlines()[0] == "signed identities of tenant default: required"


def test_bad_input_is_a_clear_error_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = db_url(tmp_path)
    short = tmp_path / "short"
    short.write_text("too short")
    not_pem = tmp_path / "key.pem"
    not_pem.write_text("hello")
    for args, words in [
        (["--mode", "optional"], "needs an audience"),
        (["--hs256-secret-file", str(short)], "at least 32 bytes"),
        (["--public-key-file", str(not_pem), "--kid", "k"], "not a PEM public key"),
        (["--public-key-file", str(not_pem)], "needs --kid"),
        (["--hs256-secret-file", str(tmp_path / "missing")], "cannot read"),
        (["--remove-key", "k9"], "no key 'k9'"),
        (["--map-extra", "plan"], "give it as KEY=FIELD"),
        (["--map-extra", "plan=email"], "cannot be mapped to email"),
        (["--map-extra", "a=Plan", "--map-extra", "b=Plan"], "mapped twice"),
    ]:
        code, _ = run(["tenant", "identity", "default", *args, "--database-url", url])
        error = capsys.readouterr().err
        assert code != 0, args
        assert words in error, (args, error)
    code, output = run(["tenant", "identity", "default", "--database-url", url])
    assert output.splitlines()[0] == "signed identities of tenant default: off"


def test_extra_keys_are_mapped_to_custom_fields_dropped_and_cleared(tmp_path: Path) -> None:
    url = db_url(tmp_path)
    identity = ("tenant", "identity", "default")
    code, output = run(
        [
            *identity,
            *("--map-extra", "plan=Customer plan", "--map-extra", "crm_id=CRM"),
            *("--database-url", url),
        ]
    )
    assert code == 0, output
    assert output.splitlines()[-2:] == [
        "extra plan -> custom field Customer plan",
        "extra crm_id -> custom field CRM",
    ]
    # Stored: shown again, and kept by a change of something else.
    code, output = run([*identity, "--audience", "https://shop.example", "--database-url", url])
    assert output.splitlines()[-2:] == [
        "extra plan -> custom field Customer plan",
        "extra crm_id -> custom field CRM",
    ]
    code, output = run([*identity, "--map-extra", "plan=", "--database-url", url])
    assert code == 0, output
    assert output.splitlines()[-1] == "extra crm_id -> custom field CRM"
    assert "plan" not in output
    code, output = run(
        [*identity, "--clear-extra-map", "--map-extra", "tier=Tier", "--database-url", url]
    )
    assert output.splitlines()[-1] == "extra tier -> custom field Tier"
    assert "CRM" not in output
    code, output = run([*identity, "--clear-extra-map", "--database-url", url])
    assert code == 0, output
    assert "extra" not in output
