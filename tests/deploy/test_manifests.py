"""The deployment files (deploy/Dockerfile, deploy/compose.yaml with deploy/compose/, and
deploy/kubernetes/) as the tools and the engine read them: every YAML file parses, the
manifests validate against the Kubernetes and Compose schemas, the Dockerfile copies
what exists, the configuration and secrets of both deployments load through the
engine's own settings loader, and migrations run once before the engines. Nothing is
deployed (no Docker here); test_ports_and_probes checks how the files fit together."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # comes with kubernetes-validate
import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from chat_engine.cli import build_parser, settings_from_args
from chat_engine.settings import Settings, SettingsError
from tests.deploy.deploy_files import (
    COMPOSE,
    COMPOSE_DIR,
    DOCKERFILE,
    KUBERNETES,
    YAML_FILES,
    compose,
    dockerfile_instructions,
    engine_services,
    exec_form,
    kubernetes_resources,
    load_yaml,
)

COMPOSE_SCHEMA = Path("/usr/lib/python3/dist-packages/compose/config/compose_spec.json")
"""The Compose specification's JSON schema as Debian's docker-compose package ships it."""

KUBERNETES_VERSIONS = ("1.29.0", kubernetes_validate.utils.latest_version())
"""The oldest Kubernetes still supported upstream when these were written, and the
newest the installed schemas know."""


# -- the files themselves --------------------------------------------------------------


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: p.name)
def test_every_yaml_file_parses(path: Path) -> None:
    assert load_yaml(path), f"{path} has no document"


def test_kustomization_lists_every_manifest_and_nothing_else() -> None:
    (kustomization,) = load_yaml(KUBERNETES / "kustomization.yaml")
    files = {p.name for p in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(kustomization["resources"]) == sorted(files)
    kinds = set(kubernetes_resources())
    assert kinds == {
        "ConfigMap", "Secret", "Job", "Deployment", "Service", "Ingress", "PodDisruptionBudget"
    }  # fmt: skip
    assert all("namespace" not in r["metadata"] for r in kubernetes_resources().values())


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_kubernetes_manifests_validate_against_the_schemas(version: str) -> None:
    for kind, resource in kubernetes_resources().items():
        try:
            kubernetes_validate.validate(resource, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{kind} against Kubernetes {version}: {exc.message}")


@pytest.mark.skipif(not COMPOSE_SCHEMA.exists(), reason="Debian's docker-compose is missing")
def test_compose_file_validates_against_the_compose_spec() -> None:
    document = compose()
    # `name` joined the specification after the schema Debian 12 ships (2021).
    assert document.pop("name") == "chat-engine"
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    errors = [
        f"{list(e.absolute_path)}: {e.message}"
        for e in jsonschema.Draft201909Validator(schema).iter_errors(document)
    ]
    assert errors == []


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="no docker-compose")
def test_docker_compose_reads_the_compose_file(tmp_path: Path) -> None:
    """docker-compose 1.29 (no daemon needed for ``config``) resolves the file: paths,
    anchors, secrets and dependencies; it predates ``name``, left out for it."""
    text = "".join(line for line in COMPOSE.open() if not line.startswith("name:"))
    copy = COMPOSE.with_name(f".compose-check-{tmp_path.name}.yaml")
    copy.write_text(text)
    try:
        run = subprocess.run(
            ["docker-compose", "-f", str(copy), "config", "--services"],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    finally:
        copy.unlink()
    assert run.returncode == 0, run.stderr
    assert set(run.stdout.split()) == set(compose()["services"])


# -- the engine's configuration ------------------------------------------------------------


def _settings(args: list[str], env: Mapping[str, str]) -> Settings:
    """Settings the way the ``chat-engine`` command reads them for ``args``."""
    return settings_from_args(build_parser().parse_args(args), env)


def _remap(env: Mapping[str, str], mounts: Mapping[str, Path]) -> dict[str, str]:
    """``env`` with each path under one of ``mounts`` (container -> here) moved here."""
    moved = {}
    for name, value in env.items():
        for inside, here in mounts.items():
            if value.startswith(inside):
                value = str(here / value.removeprefix(inside).lstrip("/"))
        moved[name] = value
    return moved


def _compose_secrets(tmp_path: Path) -> Path:
    """What ``deploy/compose/make-secrets.sh`` writes, in ``tmp_path``."""
    secrets = tmp_path / "secrets"
    subprocess.run(
        ["sh", str(COMPOSE_DIR / "make-secrets.sh")],
        env={"PATH": "/usr/bin:/bin", "SECRETS_DIR": str(secrets)},
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return secrets


def test_compose_engines_load_their_configuration_and_secrets(tmp_path: Path) -> None:
    document = compose()
    secrets = _compose_secrets(tmp_path)
    declared = {Path(s["file"]).name for s in document["secrets"].values()}
    assert declared == {p.name for p in secrets.iterdir()}, "make-secrets.sh writes these"
    for name, service in engine_services(document).items():
        mounts = {"/run/secrets": secrets, "/etc/chat-engine/config.toml": tmp_path / "c.toml"}
        config = next(
            v for v in service["volumes"] if v.endswith(":/etc/chat-engine/config.toml:ro")
        )
        (tmp_path / "c.toml").write_bytes((COMPOSE.parent / config.split(":")[0]).read_bytes())
        assert set(service["secrets"]) <= set(document["secrets"]), name
        settings = _settings(["run"], _remap(service["environment"], mounts))
        assert settings.database.url.startswith("postgresql+asyncpg://chat:")
        assert settings.database.url.endswith("@postgres:5432/chat")
        assert settings.http.redis_url is not None
        assert settings.http.redis_url.startswith("redis://:"), "Redis with a password"
        assert settings.xmpp.secret is not None
        assert len(settings.xmpp.secret) == 64
        assert (settings.xmpp.host, settings.xmpp.port) == ("ejabberd", 5347)
        assert settings.http.host == "0.0.0.0"
        assert settings.files.dir == "/var/lib/chat-engine/files"
        assert "files:/var/lib/chat-engine/files" in service["volumes"], "one shared volume"

    migrate = document["services"]["migrate"]
    assert migrate["volumes"] == [v for v in service["volumes"] if "config.toml" in v]
    env = _remap(migrate["environment"], mounts)
    settings = _settings(migrate["command"], env)
    assert settings.database.url == _settings(["run"], env).database.url


def _kubernetes_env(container: dict[str, Any], secret_dir: Path, config: Path) -> dict[str, str]:
    env = {item["name"]: item["value"] for item in container["env"]}
    return _remap(
        env, {"/etc/chat-engine/secrets": secret_dir, "/etc/chat-engine/config.toml": config}
    )


def test_kubernetes_configuration_loads_once_the_placeholder_secret_is_replaced(
    tmp_path: Path,
) -> None:
    resources = kubernetes_resources()
    config = tmp_path / "config.toml"
    config.write_text(resources["ConfigMap"]["data"]["config.toml"])
    secret_dir = tmp_path / "secrets"
    secret_dir.mkdir()
    for key, value in resources["Secret"]["stringData"].items():
        (secret_dir / key).write_text(value)
    (container,) = resources["Deployment"]["spec"]["template"]["spec"]["containers"]
    env = _kubernetes_env(container, secret_dir, config)
    for name, value in env.items():
        if name.endswith("_FILE"):
            assert Path(value).parent == secret_dir, f"{name}: not a key of the Secret"
            assert Path(value).exists(), f"{name}: the Secret has no {Path(value).name}"

    # As shipped, the engine refuses to start: the component secret is the placeholder.
    with pytest.raises(SettingsError, match=r"^xmpp\.secret: is the example placeholder"):
        _settings(container["args"], env)

    (secret_dir / "xmpp-secret").write_text("0" * 64)
    settings = _settings(container["args"], env)
    assert settings.files.store == "s3", "pods share no disk"
    assert settings.files.s3_secret_access_key == "CHANGE-ME"
    assert settings.database.url.startswith("postgresql+asyncpg://")
    assert settings.http.redis_url is not None
    assert settings.http.trust_forwarded_for

    (job_container,) = resources["Job"]["spec"]["template"]["spec"]["containers"]
    assert job_container["args"] == ["db", "upgrade"]
    job = _settings(job_container["args"], _kubernetes_env(job_container, secret_dir, config))
    assert job.database.url == settings.database.url, "the Job migrates the same database"


# -- commands: migrations first, then the engines ---------------------------------------------


def test_migrations_run_once_before_the_engines() -> None:
    document = compose()
    services = document["services"]
    (migrate,) = [n for n, s in services.items() if s.get("command") == ["db", "upgrade"]]
    assert services[migrate]["restart"] == "no"
    engines = engine_services(document)
    assert len(engines) == 3
    for name, service in engines.items():
        depends = service["depends_on"]
        assert depends[migrate] == {"condition": "service_completed_successfully"}, name
        for dependency in ("postgres", "redis", "ejabberd"):
            assert depends[dependency] == {"condition": "service_healthy"}, name
            assert "healthcheck" in services[dependency], dependency
    haproxy_depends = services["haproxy"]["depends_on"]
    assert {n: d["condition"] for n, d in haproxy_depends.items()} == dict.fromkeys(
        engines, "service_healthy"
    )

    entrypoint = exec_form(_one("ENTRYPOINT").arguments)
    default = exec_form(_one("CMD").arguments)
    assert entrypoint == ["chat-engine"]
    for args in (default, services[migrate]["command"]):
        assert build_parser().parse_args(args).command in ("run", "db")
    resources = kubernetes_resources()
    (job,) = resources["Job"]["spec"]["template"]["spec"]["containers"]
    assert job["args"] == ["db", "upgrade"]


def _one(keyword: str) -> Any:
    (item,) = [i for i in dockerfile_instructions("engine") if i.keyword == keyword]
    return item


def test_the_dockerfile_copies_what_the_repository_has() -> None:
    root = DOCKERFILE.parent.parent
    ignored = {
        line.strip()
        for line in (root / ".dockerignore").read_text().splitlines()
        if not line.startswith("#")
    } - {""}
    copies = [i for i in dockerfile_instructions() if i.keyword == "COPY"]
    assert copies
    for item in copies:
        if item.arguments.startswith("--from="):
            continue
        *sources, _ = item.arguments.split()
        for source in sources:
            assert (root / source).exists(), f"COPY {source}: not in the repository"
            assert source.rstrip("/") not in ignored, f"COPY {source}: in .dockerignore"
    # The built assets come from the node stages; a local build must not leak in.
    assert {"**/node_modules", "**/dist", ".venv", "var"} <= ignored
