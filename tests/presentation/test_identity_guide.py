"""docs/integrator-guide.md, "Signing identities", kept true: its Python and Node.js
signing snippets, taken from the markdown by their markers, make tokens the engine's
verifier takes, with the claims agents are shown."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from business.identity_model import (
    IdentityKey,
    IdentityMode,
    IdentitySettings,
    KeyAlgorithm,
    identity_from_claims,
)
from business.model import DEFAULT_TENANT
from presentation.identity_jwt import JwtIdentityVerifier

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "integrator-guide.md"
SECRET = "a secret of at least thirty-two bytes, as the guide says"
SETTINGS = IdentitySettings(
    tenant_id=DEFAULT_TENANT,
    mode=IdentityMode.REQUIRED,
    audience="https://shop.example",
    keys=(IdentityKey(kid=None, algorithm=KeyAlgorithm.HS256, material=SECRET),),
)


def snippet(name: str) -> str:
    (block,) = re.findall(
        rf"<!-- snippet: {name} -->\n\s*```\w+\n(.*?)```", GUIDE.read_text(), re.S
    )
    assert isinstance(block, str)
    # The guide indents the blocks under a list item.
    return "\n".join(line.removeprefix("   ") for line in block.splitlines())


def check(token: str) -> None:
    claims = JwtIdentityVerifier().verify(token, SETTINGS, datetime.now(UTC))
    identity = identity_from_claims(claims)
    assert identity.sub == "customer-42"
    assert (identity.name, identity.email) == ("Ada Lovelace", "ada@example.com")
    assert identity.extra == {"plan": "pro"}


def test_the_python_example_signs_a_token_the_engine_takes() -> None:
    namespace: dict[str, Any] = {}
    exec(snippet("sign-identity-python"), namespace)  # our own documentation, as printed
    check(namespace["sign_identity"](SECRET, "customer-42", "Ada Lovelace", "ada@example.com"))


def test_the_node_example_signs_a_token_the_engine_takes(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = tmp_path / "sign.js"
    args = json.dumps([SECRET, "customer-42", "Ada Lovelace", "ada@example.com"])
    script.write_text(snippet("sign-identity-node") + f"\nconsole.log(signIdentity(...{args}));\n")
    token = subprocess.run([node, str(script)], check=True, capture_output=True, text=True)
    check(token.stdout.strip())
