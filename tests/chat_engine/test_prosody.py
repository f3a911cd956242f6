"""The private Prosody of ``dev`` and the tests, for real: config, TLS, accounts, restarts."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chat_engine.local_ports import free_port, port_is_free
from chat_engine.prosody import ProsodyError, ProsodyServer
from tests.chat_engine.xmpp_client import Login, client_login, component_login

needs_prosody = pytest.mark.skipif(shutil.which("prosody") is None, reason="no Prosody")

SECRET = "component-secret-for-tests"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ProsodyServer]:
    prosody = ProsodyServer(
        tmp_path / "prosody",
        component_secret=SECRET,
        c2s_port=free_port(),
        component_port=free_port(),
    )
    yield prosody
    prosody.stop()


def test_config_is_loopback_only_and_tuned(server: ProsodyServer) -> None:
    text = server.write_config().read_text()

    assert f"c2s_ports = {{ {server.c2s_port} }}" in text
    assert f"component_ports = {{ {server.component_port} }}" in text
    assert 'interfaces = { "127.0.0.1" }' in text
    assert 'c2s_interfaces = { "127.0.0.1" }' in text
    assert 'component_interfaces = { "127.0.0.1" }' in text
    assert 'modules_disabled = { "s2s"; "s2s_auth_certs" }' in text
    for module in ("http", "bosh", "websocket", "admin_shell"):
        assert f'"{module}";' not in text
    assert "network_settings = { nagle = false }" in text
    assert 'storage = { archive = "memory" }' in text
    assert "c2s_require_encryption = true" in text
    assert f'Component "chat.localhost"\n\tcomponent_secret = "{SECRET}"' in text
    assert 'VirtualHost "localhost"' in text
    assert f'data_path = "{server.data_dir}"' in text
    assert ("\nrun_as_root = true" in text) == (os.geteuid() == 0)
    # It holds the component secret.
    assert server.config_file.stat().st_mode & 0o077 == 0


def test_everything_under_the_base_directory_is_private(tmp_path: Path) -> None:
    base = tmp_path / "prosody"
    base.mkdir(mode=0o755)  # as an older version left it
    (base / "prosody.cfg.lua").write_text("")
    (base / "prosody.cfg.lua").chmod(0o644)
    server = ProsodyServer(
        base, component_secret=SECRET, c2s_port=free_port(), component_port=free_port()
    )
    server.write_config()

    for path in (base, server.data_dir, server.certificates_dir):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    for path in (server.config_file, server.key):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_certificate_covers_localhost_and_subdomains(server: ProsodyServer) -> None:
    server.write_config()
    san = subprocess.run(
        ["openssl", "x509", "-in", str(server.certificate), "-noout", "-ext", "subjectAltName"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "DNS:localhost" in san
    assert "DNS:*.localhost" in san
    assert server.key.stat().st_mode & 0o077 == 0

    before = server.certificate.read_bytes()
    server.write_config()
    assert server.certificate.read_bytes() == before  # made once, then reused


@pytest.mark.e2e
@needs_prosody
async def test_accounts_logins_restart_and_stop(server: ProsodyServer) -> None:
    # Registered before the server runs ...
    alice = server.register("alice", "alice-pw")
    await server.astart(timeout=20)
    assert server.running
    # ... and while it runs: both work at once.
    bob = await server.aregister("bob", "bob-pw")
    host, port = server.host, server.c2s_port

    assert await client_login(alice, "alice-pw", host, port) == Login(ok=True, encrypted=True)
    assert (await client_login(bob, "bob-pw", host, port)).ok
    assert not (await client_login(bob, "wrong", host, port)).ok
    assert await component_login(server.component_jid, SECRET, host, server.component_port)

    # Registering again sets a new password.
    await server.aregister("bob", "bob-new")
    assert not (await client_login(bob, "bob-pw", host, port)).ok
    assert (await client_login(bob, "bob-new", host, port)).ok

    first_pid = server.pid
    await server.arestart(timeout=20)
    assert server.running
    assert server.pid != first_pid
    assert (await client_login(alice, "alice-pw", host, port)).ok  # accounts are on disk

    await server.astop(timeout=10)
    assert not server.running
    assert port_is_free(host, port)
    assert port_is_free(host, server.component_port)


@pytest.mark.e2e
@needs_prosody
def test_port_in_use_fails_clearly(server: ProsodyServer) -> None:
    taken = rf"port {server.c2s_port} on 127.0.0.1 is already in use"
    with (
        socket.create_server((server.host, server.c2s_port)),
        pytest.raises(ProsodyError, match=taken),
    ):
        server.start(timeout=10)
    assert not server.running


@pytest.mark.e2e
@needs_prosody
def test_a_broken_config_fails_with_the_log(tmp_path: Path) -> None:
    template = tmp_path / "broken.cfg.lua"
    template.write_text('this is not lua "$domain"\n')
    server = ProsodyServer(
        tmp_path / "p",
        component_secret=SECRET,
        c2s_port=free_port(),
        component_port=free_port(),
        template=template,
    )
    with pytest.raises(ProsodyError, match="Prosody exited with code"):
        server.start(timeout=10)
    assert not server.running


@pytest.mark.e2e
@needs_prosody
def test_a_leftover_prosody_of_the_same_directory_is_replaced(tmp_path: Path) -> None:
    def make() -> ProsodyServer:
        return ProsodyServer(
            tmp_path / "p", component_secret=SECRET, c2s_port=c2s, component_port=component
        )

    c2s, component = free_port(), free_port()
    orphan = make()
    orphan.start()
    try:
        # As if the engine had been killed: a new run finds the old server on its ports.
        fresh = make()
        fresh.start()
        try:
            assert orphan._process is not None
            assert orphan._process.wait(10) is not None
            assert fresh.running
        finally:
            fresh.stop()
    finally:
        orphan.stop()


@pytest.mark.e2e
@needs_prosody
async def test_passwords_never_appear_on_a_command_line(
    server: ProsodyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Any local user can read the command lines of running processes (ps, /proc).
    commands: list[list[str]] = []
    real_run = subprocess.run

    def recording_run(args: list[str], **kwargs: Any) -> Any:
        commands.append(list(args))
        return real_run(args, **kwargs)

    monkeypatch.setattr(subprocess, "run", recording_run)
    password, changed = "first-Pa55word", "second-Pa55word"
    alice = server.register("alice", password)  # a new account ...
    server.register("alice", changed)  # ... and a new password for it
    monkeypatch.undo()

    for command in commands:
        assert not any(password in arg or changed in arg for arg in command), command
    prosodyctl = [command for command in commands if command[0] == "prosodyctl"]
    assert [command[3] for command in prosodyctl] == ["adduser", "adduser", "passwd"]
    await server.astart(timeout=20)
    host, port = server.host, server.c2s_port
    assert (await client_login(alice, changed, host, port)).ok
    assert not (await client_login(alice, password, host, port)).ok


def test_register_rejects_bad_names(server: ProsodyServer) -> None:
    with pytest.raises(ValueError, match="not a valid user name"):
        server.register("Bad Name", "pw")
    with pytest.raises(ValueError, match="no whitespace"):
        server.register("carol", "pass word")
    with pytest.raises(ValueError, match="no whitespace"):
        server.register("carol", "line\nbreak")  # would answer prosodyctl's second prompt


def test_not_installed_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr("chat_engine.prosody.is_root", lambda: False)
    with pytest.raises(
        ProsodyError, match=r"sudo sh -c 'apt-get update && apt-get install -y prosody'"
    ):
        ProsodyServer.ensure_installed()
