"""deploy/scripts/setup.sh: pieces that can be checked without installing anything."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

SETUP = Path(__file__).resolve().parents[2] / "deploy" / "scripts" / "setup.sh"


def _function(name: str) -> str:
    (line,) = (line for line in SETUP.read_text().splitlines() if line.startswith(f"{name}()"))
    return line


def test_fingerprint_of_a_missing_file_does_not_end_the_script(tmp_path: Path) -> None:
    # setup.sh runs under `set -euo pipefail` and fingerprints package-lock.json, which a
    # widget may not have yet (then it runs `npm install`): that must not end setup.sh
    # silently with exit code 1.
    present = tmp_path / "package.json"
    present.write_text("{}")
    script = (
        "set -euo pipefail\n"
        f"{_function('fingerprint')}\n"
        f'a=$(fingerprint "{present}" "{tmp_path / "package-lock.json"}")\n'
        f'b=$(fingerprint "{present}")\n'
        'echo "$a $b"\n'
    )
    result = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.split()
    assert len(first) == 64
    assert first == second


def test_the_audit_is_its_own_target_not_part_of_the_tests() -> None:
    # A new advisory must not turn CI (`make test`, .ci/run) red for an unrelated change.
    root = SETUP.parents[2]
    makefile = (root / "Makefile").read_text()
    targets = dict(re.findall(r"^([a-z-]+):[^\n]*\n((?:\t[^\n]*\n)*)", makefile, re.MULTILINE))
    assert "deploy/scripts/audit.sh" in targets["audit"]
    for name in ("test", "test-fast", "lint"):
        assert "audit" not in targets[name], name
    assert "audit" not in (root / "deploy" / "scripts" / "test.sh").read_text()
    audit = root / "deploy" / "scripts" / "audit.sh"
    syntax = subprocess.run(["bash", "-n", str(audit)], capture_output=True, text=True, check=False)
    assert syntax.returncode == 0, syntax.stderr
    assert "pip-audit" in audit.read_text()
    assert "npm audit" in audit.read_text()
