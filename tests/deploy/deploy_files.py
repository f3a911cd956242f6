"""Readers of the deployment files under ``deploy/`` for ``test_manifests``: the YAML
documents, the Dockerfile's instructions and HAProxy's backend servers, each parsed
without the tool that runs them (no Docker, kubectl or HAProxy here)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML comes with schemathesis

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
COMPOSE_DIR = DEPLOY / "compose"
KUBERNETES = DEPLOY / "kubernetes"
DOCKERFILE = DEPLOY / "Dockerfile"
HAPROXY = COMPOSE_DIR / "haproxy.cfg"

YAML_FILES = sorted([COMPOSE, *COMPOSE_DIR.glob("*.yml"), *KUBERNETES.glob("*.yaml")])
"""Every YAML file that is used as it is (deploy/ejabberd/dev.yml is a template)."""


def load_yaml(path: Path) -> list[Any]:
    """Every document of ``path``."""
    with path.open() as f:
        return [doc for doc in yaml.safe_load_all(f) if doc is not None]


def compose() -> dict[str, Any]:
    (document,) = load_yaml(COMPOSE)
    assert isinstance(document, dict)
    return document


def kubernetes_resources() -> dict[str, dict[str, Any]]:
    """The resources kustomization.yaml lists, by kind (one of each here)."""
    (kustomization,) = load_yaml(KUBERNETES / "kustomization.yaml")
    resources: dict[str, dict[str, Any]] = {}
    for name in kustomization["resources"]:
        for document in load_yaml(KUBERNETES / name):
            assert document["kind"] not in resources, f"two {document['kind']}s"
            resources[document["kind"]] = document
    return resources


def engine_services(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The Compose services that run ``chat-engine run`` (the image's default command)."""
    return {
        name: service
        for name, service in document["services"].items()
        if service.get("image", "").startswith("chat-engine") and "command" not in service
    }


def seconds(duration: str | int) -> float:
    """A Compose duration (``30s``, ``1m30s``) in seconds."""
    if isinstance(duration, int):
        return float(duration)
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts, duration
    assert "".join(n + u for n, u in parts) == duration, duration
    return sum(float(number) * units[unit] for number, unit in parts)


@dataclass(frozen=True, slots=True)
class Instruction:
    keyword: str
    arguments: str


def dockerfile_instructions(stage: str | None = None) -> list[Instruction]:
    """The Dockerfile's instructions with continuation lines joined; only those of the
    stage named ``stage`` (``FROM ... AS stage``) if given."""
    instructions: list[Instruction] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.lstrip().startswith("#"):
            continue
        pending += line.rstrip().removesuffix("\\") + " "
        if not line.rstrip().endswith("\\"):
            keyword, _, arguments = pending.strip().partition(" ")
            instructions.append(Instruction(keyword.upper(), " ".join(arguments.split())))
            pending = ""
    if stage is None:
        return instructions
    chosen: list[Instruction] = []
    current = None
    for item in instructions:
        if item.keyword == "FROM":
            words = item.arguments.split()
            current = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
        if current == stage:
            chosen.append(item)
    return chosen


def exec_form(arguments: str) -> list[str]:
    """A JSON-array (exec form) argument such as ``CMD ["run"]``, or shell words."""
    if arguments.startswith("["):
        parsed = yaml.safe_load(arguments)  # a JSON array is YAML
        assert isinstance(parsed, list)
        return [str(word) for word in parsed]
    return shlex.split(arguments)


@dataclass(frozen=True, slots=True)
class Backend:
    check_path: str
    servers: list[tuple[str, str, int]]
    """(name, host, port) of each ``server`` line."""
    lines: list[str]


def haproxy_backend(path: Path, name: str) -> Backend:
    """The ``backend NAME`` section of an HAProxy configuration."""
    section: list[str] = []
    inside = False
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not raw[:1].isspace() and line:
            inside = line.split() == ["backend", name]
            continue
        if inside and line:
            section.append(line)
    check = next(line for line in section if line.startswith("option httpchk"))
    servers = []
    for line in section:
        words = line.split()
        if words[0] == "server":
            host, _, port = words[2].rpartition(":")
            servers.append((words[1], host, int(port)))
    return Backend(check_path=check.split()[-1], servers=servers, lines=section)


def haproxy_bind_port(path: Path) -> int:
    binds = [
        line.split()[1]
        for line in path.read_text().splitlines()
        if line.strip().startswith("bind ")
    ]
    (bind,) = binds
    return int(bind.rpartition(":")[2])
