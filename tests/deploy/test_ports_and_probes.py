"""The deployment files agree on ports, probe paths, the ejabberd component and the
drain: every probe path answers 200 on the engine's real aiohttp app, every port named
for the engine is the one its configuration listens on, ejabberd's balancing matches the
engines, and every grace period outlasts ``http.drain_seconds``."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import tomllib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from chat_engine.settings import load_settings
from presentation import WebSettings, create_app
from tests.deploy.deploy_files import (
    COMPOSE_DIR,
    HAPROXY,
    compose,
    dockerfile_instructions,
    engine_services,
    exec_form,
    haproxy_backend,
    haproxy_bind_port,
    kubernetes_resources,
    load_yaml,
    seconds,
)
from tests.harness import make_world

ENGINE_TOML = COMPOSE_DIR / "engine.toml"
_URL = re.compile(r"http://127\.0\.0\.1:(\d+)(/[a-z]+)")


def _compose_settings_http() -> tuple[int, float]:
    settings = load_settings(ENGINE_TOML)
    return settings.http.port, settings.http.drain_seconds


def _kubernetes_http() -> tuple[int, float]:
    text = kubernetes_resources()["ConfigMap"]["data"]["config.toml"]
    http = tomllib.loads(text)["http"]
    return int(http["port"]), float(http["drain_seconds"])


def _pod() -> dict[str, Any]:
    spec: dict[str, Any] = kubernetes_resources()["Deployment"]["spec"]["template"]["spec"]
    return spec


def _probe_urls() -> list[tuple[str, int, str]]:
    """(where, port, path) of every health probe in the deployment files."""
    found: list[tuple[str, int, str]] = []
    healthcheck = next(i for i in dockerfile_instructions("engine") if i.keyword == "HEALTHCHECK")
    for port, path in _URL.findall(healthcheck.arguments):
        found.append(("Dockerfile HEALTHCHECK", int(port), path))
    for name, service in engine_services(compose()).items():
        for port, path in _URL.findall(" ".join(service["healthcheck"]["test"])):
            found.append((f"compose {name}", int(port), path))
    backend = haproxy_backend(HAPROXY, "engines")
    for server, _, port in backend.servers:
        found.append((f"haproxy {server}", port, backend.check_path))
    (container,) = _pod()["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        get = container[probe]["httpGet"]
        found.append((f"kubernetes {probe}", ports.get(get["port"], get["port"]), get["path"]))
    return found


def test_every_engine_port_is_the_one_it_listens_on() -> None:
    compose_port, _ = _compose_settings_http()
    kubernetes_port, _ = _kubernetes_http()
    (expose,) = [i for i in dockerfile_instructions("engine") if i.keyword == "EXPOSE"]
    assert int(expose.arguments) == compose_port == kubernetes_port
    for where, port, _ in _probe_urls():
        assert port == compose_port, where
    (container,) = _pod()["containers"]
    assert [p["containerPort"] for p in container["ports"]] == [kubernetes_port]
    service = kubernetes_resources()["Service"]
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]
    ingress = kubernetes_resources()["Ingress"]
    (rule,) = ingress["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    assert path["backend"]["service"] == {"name": "chat-engine", "port": {"name": "http"}}
    # HAProxy's published port is the one it binds, and the one public_url names.
    published = compose()["services"]["haproxy"]["ports"]
    assert published == [f"{haproxy_bind_port(HAPROXY)}:{haproxy_bind_port(HAPROXY)}"]
    public = load_settings(ENGINE_TOML).http.public_url
    assert public == f"http://localhost:{haproxy_bind_port(HAPROXY)}"


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="no HAProxy")
def test_haproxy_accepts_its_configuration() -> None:
    # The engines' names resolve only on the Compose network: init-addr none allows that.
    run = subprocess.run(
        ["haproxy", "-c", "-f", str(HAPROXY)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert "Configuration file is valid" in run.stdout


def test_haproxy_sends_to_each_engine_and_keeps_a_visitor_on_one() -> None:
    backend = haproxy_backend(HAPROXY, "engines")
    engines = engine_services(compose())
    assert sorted(host for _, host, _ in backend.servers) == sorted(engines)
    # Each Engine.IO session id, read from the handshake's answer, sticks to its engine.
    assert "stick match url_param(sid)" in backend.lines
    assert any(line.startswith("stick store-response res.body") for line in backend.lines)
    assert backend.check_path == "/readyz"
    assert "http-check expect status 200" in backend.lines


@pytest.fixture
async def engine_app() -> AsyncIterator[str]:
    """The engine's aiohttp app on loopback (over in-memory services, as in
    tests/presentation/test_health.py), its checks passing."""

    async def up() -> bool:
        return True

    world = await make_world()
    sock = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = create_app(
        services=world.services,
        settings=WebSettings(public_url=url),
        health={"database": up, "xmpp": up},
        reported_only=("xmpp",),
    )
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
        yield url
    finally:
        await runner.cleanup()


async def test_every_probe_path_answers_on_the_engine(engine_app: str) -> None:
    probes = _probe_urls()
    assert {path for _, _, path in probes} == {"/livez", "/readyz"}
    async with aiohttp.ClientSession() as http:
        for where, _, path in probes:
            async with http.get(engine_app + path) as response:
                assert response.status == 200, f"{where}: {path}"
                assert (await response.json())["status"] == "ok", where


def test_grace_periods_outlast_the_drain() -> None:
    _, compose_drain = _compose_settings_http()
    for name, service in engine_services(compose()).items():
        assert seconds(service["stop_grace_period"]) >= compose_drain + 15, name

    _, drain = _kubernetes_http()
    pod = _pod()
    (container,) = pod["containers"]
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    # The grace period counts from the preStop hook on; SIGTERM (the drain) comes after.
    assert pod["terminationGracePeriodSeconds"] >= float(pre_stop[1]) + drain + 15
    readiness = container["readinessProbe"]
    assert readiness["failureThreshold"] == 1, "out of the endpoints at the first 503"
    assert readiness["timeoutSeconds"] > 2, "/readyz bounds its own checks at 2 s"


def test_the_engine_runs_as_a_user_without_root() -> None:
    (user,) = [i for i in dockerfile_instructions("engine") if i.keyword == "USER"]
    assert not user.arguments.startswith(("0", "root"))
    uid = int(user.arguments.split(":")[0])
    security = _pod()["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] == uid
    job = kubernetes_resources()["Job"]["spec"]["template"]["spec"]["securityContext"]
    assert job["runAsUser"] == uid
    stop = [i for i in dockerfile_instructions("engine") if i.keyword == "STOPSIGNAL"]
    assert [s.arguments for s in stop] == ["SIGTERM"], "SIGTERM drains; SIGINT would not"
    assert exec_form(
        next(i for i in dockerfile_instructions("engine") if i.keyword == "CMD").arguments
    ) == ["run"]


def test_ejabberd_balances_the_component_domain_over_every_engine() -> None:
    settings = load_settings(ENGINE_TOML)
    (config,) = load_yaml(COMPOSE_DIR / "ejabberd.yml")
    (service,) = [item for item in config["listen"] if item["module"] == "ejabberd_service"]
    assert service["port"] == settings.xmpp.port
    assert list(service["hosts"]) == [settings.xmpp.component_jid]
    assert service["hosts"][settings.xmpp.component_jid]["password"] == "@COMPONENT_SECRET@"
    balancing = config["domain_balancing"][settings.xmpp.component_jid]
    assert balancing["type"] == "bare_destination"
    # 23.01 drops what hashes to an empty slot: one slot per engine, no more, no fewer.
    assert balancing["component_number"] == len(engine_services(compose()))
    assert balancing["component_number"] == _kubernetes_replicas()
    hosts = config["hosts"]
    assert any(settings.xmpp.component_jid.endswith("." + host) for host in hosts)
    # The entrypoint fills the placeholder in from the secret the engines read.
    ejabberd = compose()["services"]["ejabberd"]
    assert "@COMPONENT_SECRET@" in ejabberd["entrypoint"][-1]
    assert "/run/secrets/xmpp_secret" in ejabberd["entrypoint"][-1]
    assert "xmpp_secret" in ejabberd["secrets"]
    assert config["certfiles"] == ["/run/secrets/xmpp.pem"]
    assert "xmpp.pem" in ejabberd["secrets"]


def _kubernetes_replicas() -> int:
    replicas: int = kubernetes_resources()["Deployment"]["spec"]["replicas"]
    return replicas


def test_redis_has_a_password_and_keeps_it_off_the_command_line() -> None:
    redis = compose()["services"]["redis"]
    command = " ".join(redis["command"])
    assert "requirepass" in command
    assert "| redis-server -" in command
    assert "redis_password" in redis["secrets"]
    assert "REDISCLI_AUTH" in " ".join(redis["healthcheck"]["test"])
