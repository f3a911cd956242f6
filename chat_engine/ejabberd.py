"""A private ejabberd for the test suite and local scale-out runs: several engine
processes, each with its own component connection to the same domain.

One ``EjabberdServer`` owns one base directory: configuration, Mnesia spool, logs,
certificate, Erlang cookie and pid file all live there, and the server runs in the
foreground as our child (in a process group of its own), so nothing is left in ``/etc``
or ``/var/lib`` and stopping it stops everything it started.

Checked on Debian 12 with ejabberd 23.01 (Erlang/OTP 25), as root:

- ``ejabberdctl --ctl-config F --config F --config-dir D --spool D --logs D foreground``
  runs one server from our own files. The ctl config sets ``ERL_DIST_PORT``: the node
  then listens on that one port, starts no ``epmd`` and registers with none, and the
  other ``ejabberdctl`` commands reach it there. So instances never share an epmd (nor
  RabbitMQ's, which may already run on 4369), and stopping one leaves nothing behind.
- As root, Debian's ejabberdctl runs everything as the ``ejabberd`` user, which cannot
  enter a root-only directory; the ctl config (a shell file it sources) says
  ``EXEC_CMD=as_current_user``. Any other user than root or ``ejabberd`` is refused by the
  script itself (exit 7): we say so.
- The node name must stay the same for a spool (Mnesia keeps it): it is derived from the
  base directory, so two directories (two pytest-xdist workers) get two names.
- The cookie is read from ``$HOME/.erlang.cookie``: HOME is the base directory, so the
  cookie never shows on a command line and differs per instance.
- ``mod_presence`` does not exist (presence is built in); ``domain_balancing`` without
  ``component_number`` makes every component handshake crash (``maps:get`` of the
  missing key in ``ejabberd_router:get_component_number/1``).
- ``component_number: N`` makes N slots; each connection takes a free one when it
  completes its handshake, and a slot keeps its place when its connection goes (a TCP
  reset as after ``kill -9`` frees it at once, like a clean close). A stanza whose bare
  address hashes to an empty slot is dropped: no error stanza to the sender (an agent's
  client sees nothing), nothing in the log at ``info``. A connection beyond N is
  accepted but gets nothing, and does not move into a slot freed later; the next
  connection to complete a handshake takes it and gets exactly the dead one's share.
  So N must be the number of engine processes; with ``xmpp.standby_links`` a surviving
  process takes a free slot with a stand-in connection (``xmpp_bridge.standby_link``).
- With ``domain_balancing``, the domain's own address (``chat.localhost``) hashes to
  one slot like any other: a ping a process sends from and to it is answered to the
  process holding that slot, so the others' delivery pings never came back (every
  ``delivery_confirm_timeout`` a reconnect and a replay). ``standby_links`` makes each
  connection ping from an address of its own slot.
- Without ``domain_balancing`` any number of connections to the domain are accepted and
  each stanza goes to one of the live ones at random (per stanza, not per address): no
  drops while one lives, but one conversation's stanzas and a ping's answer land on any
  process.
- SIGTERM to the VM (its pid is in the pid file) stops the node cleanly in a second or
  two, and the ejabberdctl shell around it exits then. SIGTERM to the whole group ends
  the shell at once and leaves the stopped VM a zombie of whoever inherits it.
- ``ejabberdctl register USER HOST PASSWORD`` needs the running server, and puts the
  password on a command line (visible in ``ps`` for about a second): fine for demo and
  test agents on a private machine, not for real accounts. An existing user gets
  ``conflict`` (exit 1); ``change_password`` (mod_admin_extra) then sets it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import IO

from chat_engine.ejabberd_config import (
    INETRC,
    TEMPLATE,
    EjabberdConfig,
    EjabberdError,
    NodeConfig,
    render_config,
    render_ctl_config,
)
from chat_engine.files import private_dir, write_private
from chat_engine.local_ports import accepts, free_port, port_is_free
from chat_engine.private_server import PrivateServer, private_opener
from chat_engine.prosody_config import ensure_certificate
from xmpp_bridge.settings import is_domain

logger = logging.getLogger(__name__)

__all__ = ["TEMPLATE", "EjabberdError", "EjabberdServer"]

_USER_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_PASSWORD_RE = re.compile(r"[A-Za-z0-9._~+/=-]{1,128}")
"""ejabberdctl passes arguments through a shell script: nothing it could interpret."""
_START_FAILURE_RE = re.compile(r"Failed to start ejabberd application: (.*)")


class EjabberdServer(PrivateServer):
    """Configure, start, stop and add accounts to one ejabberd under ``base_dir``."""

    NAME = "ejabberd"
    START_TIMEOUT = 30.0
    STOP_TIMEOUT = 15.0

    def __init__(
        self,
        base_dir: Path,
        *,
        domain: str = "localhost",
        component_jid: str = "chat.localhost",
        component_secret: str,
        c2s_port: int = 5222,
        component_port: int = 5347,
        dist_port: int | None = None,
        component_number: int = 1,
        host: str = "127.0.0.1",
        log_level: str = "info",
        template: Path | None = None,
    ) -> None:
        for what, name in (("domain", domain), ("component_jid", component_jid)):
            if not is_domain(name):
                raise ValueError(f"{what} {name!r} is not a valid domain name")
        if not component_secret:
            raise ValueError("component_secret must not be empty")
        if component_number < 1:
            raise ValueError("component_number must be at least 1")
        self.base_dir = base_dir.resolve()
        self.domain = domain
        self.component_jid = component_jid
        self.component_secret = component_secret
        self.c2s_port = c2s_port
        self.component_port = component_port
        self.dist_port = dist_port if dist_port is not None else free_port(host)
        """The Erlang distribution port (``ejabberdctl`` reaches the node there)."""
        self.component_number = component_number
        self.host = host
        self.log_level = log_level
        self.template = template or TEMPLATE
        digest = hashlib.sha256(str(self.base_dir).encode()).hexdigest()[:12]
        self.node = f"ejabberd-{digest}@localhost"
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None

    # -- paths ----------------------------------------------------------------------

    @property
    def config_file(self) -> Path:
        return self.base_dir / "ejabberd.yml"

    @property
    def ctl_config_file(self) -> Path:
        return self.base_dir / "ejabberdctl.cfg"

    @property
    def spool_dir(self) -> Path:
        return self.base_dir / "spool"

    @property
    def logs_dir(self) -> Path:
        return self.base_dir / "logs"

    @property
    def log_file(self) -> Path:
        return self.logs_dir / "ejabberd.log"

    @property
    def output_file(self) -> Path:
        """The node's stdout and stderr: errors from before its logging starts."""
        return self.base_dir / "ejabberd.out"

    @property
    def certificate(self) -> Path:
        return self.base_dir / "certs" / f"{self.domain}.crt"

    @property
    def key(self) -> Path:
        return self.base_dir / "certs" / f"{self.domain}.key"

    @property
    def pidfile(self) -> Path:
        return self.base_dir / "ejabberd.pid"

    @property
    def cookie_file(self) -> Path:
        return self.base_dir / ".erlang.cookie"

    @property
    def ports(self) -> list[int]:
        """Every port this server listens on (the XMPP ones first)."""
        return [self.c2s_port, self.component_port, self.dist_port]

    # -- set-up ---------------------------------------------------------------------

    def write_config(self) -> Path:
        """Write the configuration, the cookie and a certificate; returns the config path."""
        try:
            template = self.template.read_text()
        except FileNotFoundError:
            raise EjabberdError(
                f"the ejabberd template {self.template} is missing; run from a source checkout"
            ) from None
        for directory in (self.base_dir, self.spool_dir, self.logs_dir, self.key.parent):
            private_dir(directory)
        ensure_certificate(self.domain, self.certificate, self.key)
        if not self.cookie_file.exists():
            write_private(self.cookie_file, secrets.token_hex(20))
        text = render_config(
            EjabberdConfig(
                certificate=self.certificate,
                key=self.key,
                log_level=self.log_level,
                host=self.host,
                c2s_port=self.c2s_port,
                component_port=self.component_port,
                domain=self.domain,
                component_jid=self.component_jid,
                component_secret=self.component_secret,
                component_number=self.component_number,
            ),
            template,
        )
        write_private(self.config_file, text)  # it holds the component secret
        write_private(
            self.ctl_config_file,
            render_ctl_config(
                NodeConfig(
                    node=self.node, dist_port=self.dist_port, host=self.host, pidfile=self.pidfile
                )
            ),
        )
        write_private(self.base_dir / "inetrc", INETRC)
        return self.config_file

    def _command(self, *args: str) -> list[str]:
        return [
            "ejabberdctl",
            "--ctl-config",
            str(self.ctl_config_file),
            "--config",
            str(self.config_file),
            "--config-dir",
            str(self.base_dir),
            "--spool",
            str(self.spool_dir),
            "--logs",
            str(self.logs_dir),
            *args,
        ]

    def _environment(self) -> dict[str, str]:
        # HOME: Erlang reads the cookie from $HOME/.erlang.cookie.
        return {**os.environ, "HOME": str(self.base_dir)}

    def ctl(self, *args: str, timeout: float = 60) -> str:
        """Run an ``ejabberdctl`` command against the running node; returns its output."""
        if os.geteuid() != 0 and not _is_ejabberd_user():
            raise EjabberdError("Debian's ejabberdctl runs only as root or as `ejabberd`")
        try:
            result = subprocess.run(
                self._command(*args),
                env=self._environment(),
                capture_output=True,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
                check=False,
                cwd=self.base_dir,
            )
        except FileNotFoundError:
            raise EjabberdError("ejabberdctl is not installed (apt-get install ejabberd)") from None
        output = (result.stdout + result.stderr).decode(errors="replace").strip()
        if result.returncode != 0:
            raise EjabberdError(
                f"`ejabberdctl {args[0]}` failed with exit code {result.returncode}: {output}"
            )
        return output

    def register(self, user: str, password: str) -> str:
        """Create the account ``user@domain`` or set its password; returns the JID.
        Needs the running server (see the module's notes about the command line)."""
        if not _USER_RE.fullmatch(user):
            raise ValueError(f"{user!r} is not a valid user name")
        if not _PASSWORD_RE.fullmatch(password):
            raise ValueError("the password must be 1-128 letters, digits or ._~+/=-")
        if not self.running:
            raise EjabberdError("ejabberd is not running: start it before adding accounts")
        try:
            self.ctl("register", user, self.domain, password)
        except EjabberdError as failed:
            if "conflict" not in str(failed):
                raise
            self.ctl("change_password", user, self.domain, password)
        return f"{user}@{self.domain}"

    # -- process --------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running and self._process else None

    def start(self, timeout: float = 30.0) -> None:
        """Start ejabberd and return once it has started and accepts client and
        component connections."""
        if self.running:
            return
        if not shutil.which("ejabberdctl"):
            raise EjabberdError("ejabberd is not installed (deploy/scripts/setup.sh --test)")
        self.write_config()
        self.stop_leftover()
        for port in self.ports:
            if not port_is_free(self.host, port):
                raise EjabberdError(
                    f"port {port} on {self.host} is already in use by another program; "
                    "stop it or choose another port"
                )
        with contextlib.suppress(FileNotFoundError):
            self.log_file.unlink()
        self._close_output()
        self._output = open(self.output_file, "wb", opener=private_opener)  # noqa: SIM115
        # A session (and process group) of its own: the shell script, erl and beam.smp
        # all stop together, and Ctrl-C in a terminal reaches only the engine.
        self._process = subprocess.Popen(
            self._command("foreground"),
            env=self._environment(),
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            cwd=self.base_dir,
            start_new_session=True,
        )
        logger.info(
            "ejabberd starting (pid %d, node %s) on %s: c2s %d, component %d",
            self._process.pid,
            self.node,
            self.host,
            self.c2s_port,
            self.component_port,
        )
        deadline = time.monotonic() + timeout
        while True:
            failed = _START_FAILURE_RE.search(self._read_log())
            if failed:
                self.stop()
                raise EjabberdError(f"ejabberd did not start: {failed.group(1)}")
            if self._process.poll() is not None:
                code = self._process.returncode
                self.stop()
                raise EjabberdError(f"ejabberd exited with code {code}:\n{self.log_tail()}")
            if self._accepting():
                return
            if time.monotonic() > deadline:
                self.stop()
                raise EjabberdError(
                    f"ejabberd did not open its ports within {timeout:g} s:\n{self.log_tail()}"
                )
            time.sleep(0.1)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM to the node (it stops cleanly), SIGKILL to its whole process group
        after ``timeout`` seconds; returns once nothing of it runs."""
        process, self._process = self._process, None
        if process is not None:
            _stop_node(process.pid, self._node_pid(process.pid), timeout)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout)
            logger.info("ejabberd stopped")
        self._close_output()

    def _node_pid(self, pgid: int) -> int | None:
        """The Erlang VM's pid, from the pid file, when it is in process group ``pgid``."""
        try:
            pid = int(self.pidfile.read_text().strip())
            return pid if os.getpgid(pid) == pgid else None
        except (OSError, ValueError):
            return None

    def stop_leftover(self) -> bool:
        """Stop this directory's node left over from an earlier run (its parent died
        without stopping it); True if there was one."""
        try:
            pid = int(self.pidfile.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return False
        if self.node.partition("@")[0].encode() not in b" ".join(cmdline):
            return False  # the pid was reused by an unrelated process
        logger.warning("stopping an ejabberd left over from an earlier run (pid %d)", pid)
        try:
            pgid = os.getpgid(pid)
        except ProcessLookupError:
            return False
        _stop_node(pgid, pid, 15.0)
        return True

    def _accepting(self) -> bool:
        """Both XMPP listeners accept connections. Not merely their ports: ejabberd
        listens on them while it still loads its modules, and says so only once it has
        started (SIGTERM before then leaves it hanging for many seconds)."""
        log = self._read_log()
        return all(
            f"Start accepting TCP connections at {self.host}:{port} " in log
            for port in (self.c2s_port, self.component_port)
        ) and all(accepts(self.host, port) for port in (self.c2s_port, self.component_port))


def _stop_node(pgid: int, node_pid: int | None, timeout: float) -> None:
    """SIGTERM to the VM alone when its pid is known: the ejabberdctl shell around it then
    reaps it and exits by itself. (SIGTERM to the whole group would end the shell first
    and leave the VM, once stopped, a zombie for whoever inherits it to reap.)"""
    with contextlib.suppress(ProcessLookupError):
        if node_pid is not None:
            os.kill(node_pid, signal.SIGTERM)
        else:
            os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _group_running(pgid):
        if time.monotonic() > deadline:
            logger.warning("ejabberd did not stop within %g s; killing it", timeout)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            return
        time.sleep(0.05)


def _group_running(pgid: int) -> bool:
    """Some process of group ``pgid`` runs (zombies, stopped and waiting to be reaped,
    do not count)."""
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # gone meanwhile
        # After the command: state, ppid, pgrp, ...
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


def _is_ejabberd_user() -> bool:
    import pwd

    try:
        return pwd.getpwuid(os.geteuid()).pw_name == "ejabberd"
    except KeyError:
        return False
