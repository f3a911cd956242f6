"""The private ejabberd (``chat_engine.ejabberd``): its configuration without a server, and
the one thing about its process the end-to-end tests do not show (a leftover node of the
same directory is replaced)."""

from __future__ import annotations

import os
import secrets
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML comes with schemathesis

from chat_engine.ejabberd import EjabberdServer
from chat_engine.ejabberd_config import EjabberdError, NodeConfig, render_ctl_config
from chat_engine.local_ports import accepts, free_port


def _server(base: Path, **kwargs: Any) -> EjabberdServer:
    return EjabberdServer(
        base,
        component_secret=kwargs.pop("component_secret", secrets.token_hex(32)),
        c2s_port=free_port(),
        component_port=free_port(),
        **kwargs,
    )


def test_config_is_loopback_only_and_balances_the_component_domain(tmp_path: Path) -> None:
    secret = 'a "tricky"\nsecret: with yaml: in it'
    server = _server(tmp_path / "e", component_secret=secret, component_number=3)
    config = yaml.safe_load(server.write_config().read_text())
    assert config["hosts"] == ["localhost"]
    assert {listener["ip"] for listener in config["listen"]} == {"127.0.0.1"}
    (service,) = (x for x in config["listen"] if x["module"] == "ejabberd_service")
    assert service["port"] == server.component_port
    assert service["hosts"] == {"chat.localhost": {"password": secret}}
    assert config["domain_balancing"] == {
        "chat.localhost": {"type": "bare_destination", "component_number": 3}
    }
    assert config["s2s_access"] == "none"


def test_one_engine_gets_no_domain_balancing(tmp_path: Path) -> None:
    # 23.01 refuses component_number 1 ("Expected integer from 2 to 1000").
    config = yaml.safe_load(_server(tmp_path / "e").write_config().read_text())
    assert "domain_balancing" not in config


def test_everything_under_the_base_directory_is_private(tmp_path: Path) -> None:
    server = _server(tmp_path / "e")
    server.write_config()
    # The certificate may be readable: nobody else can enter the directories.
    secret = [server.config_file, server.ctl_config_file, server.cookie_file, server.key]
    for path in [server.base_dir, *(p for p in server.base_dir.rglob("*") if p.is_dir()), *secret]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"


def test_each_directory_is_a_node_of_its_own(tmp_path: Path) -> None:
    first, second = _server(tmp_path / "a"), _server(tmp_path / "b")
    assert first.node != second.node
    assert first.dist_port != second.dist_port
    assert _server(tmp_path / "a").node == first.node  # Mnesia's spool keeps the name
    ctl = first.write_config().with_name("ejabberdctl.cfg").read_text()
    assert f'ERL_DIST_PORT="{first.dist_port}"' in ctl  # no epmd
    assert 'EXEC_CMD="as_current_user"' in ctl


def test_the_ctl_config_refuses_what_a_shell_would_interpret(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ERLANG_NODE"):
        render_ctl_config(
            NodeConfig(node="x$(reboot)@localhost", dist_port=1, host="127.0.0.1", pidfile=tmp_path)
        )


def test_register_refuses_names_and_passwords_a_shell_could_misread(tmp_path: Path) -> None:
    server = _server(tmp_path / "e")
    with pytest.raises(ValueError, match="user name"):
        server.register("Bad Name", "password")
    with pytest.raises(ValueError, match="password"):
        server.register("alice", "pass word;rm")
    with pytest.raises(EjabberdError, match="not running"):
        server.register("alice", "password")


@pytest.mark.e2e  # two starts and two stops of a real node: seconds, not milliseconds
@pytest.mark.skipif(shutil.which("ejabberdctl") is None, reason="ejabberd is not installed")
def test_a_leftover_node_of_the_same_directory_is_replaced(tmp_path: Path) -> None:
    base = tmp_path / "e"
    leftover = _server(base)
    leftover.start(timeout=60)
    pid = int(leftover.pidfile.read_text())
    try:
        # The engine that started it died without stopping it: a new run on the same
        # directory (other ports) stops it first, and the node name is free again.
        again = _server(base)
        again.start(timeout=60)
        try:
            assert not accepts(leftover.host, leftover.c2s_port)
            assert accepts(again.host, again.c2s_port)
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
        finally:
            again.stop()
        assert not any(accepts(again.host, port) for port in again.ports)
    finally:
        leftover.stop()  # nothing left to stop by now; closes its output file
