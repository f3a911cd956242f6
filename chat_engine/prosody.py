"""A private Prosody for ``chat-engine dev`` and the test suite.

One ``ProsodyServer`` owns one base directory: configuration, data, certificates, pid file
and logs all live there, and the server runs in the foreground as our child process, so
stopping the engine stops it too and nothing is left behind in ``/etc`` or ``/var/lib``.

Checked on Debian 12 with Prosody 0.12.3, as root:

- Without ``run_as_root = true``, ``prosodyctl`` switches to the ``prosody`` user, which
  cannot read a configuration in a root-only directory ("The config file is not readable
  by the 'prosody' user", exit 1); ``prosody -F`` logs "Refusing to run as root" and then,
  instead of exiting, hangs without opening its ports. So we write ``run_as_root = true``
  when we are root, and nothing when we are not (then both tools just run as that user).
- ``prosodyctl --config FILE adduser USER@HOST`` reads the password twice from stdin (no
  tty needed) and writes the account file directly, whether or not the server runs; the
  running server reads accounts from disk on each login, so the account works at once.
  For an existing user it says "That user already exists" (exit 1); ``passwd USER@HOST``
  then sets the password the same way. ``register USER HOST PASSWORD`` would put the
  password on the command line, where ``ps`` shows it to every local user.
- Everything under the base directory is private (0700 directories, 0600 files): the
  configuration holds the component secret, ``data`` the accounts, ``certs`` the key.
- If a port is taken, Prosody logs the failure and keeps running without it: we check the
  ports before starting and read the log afterwards.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import IO

from chat_engine.files import private_dir, write_private
from chat_engine.local_ports import accepts, port_is_free
from chat_engine.private_server import PrivateServer, private_opener
from chat_engine.prosody_config import (
    TEMPLATE,
    ProsodyConfig,
    ProsodyError,
    ensure_certificate,
    render_config,
    websocket_url,
)
from chat_engine.prosody_leftovers import PIDFILE, read_pidfile, stop_leftover
from xmpp_bridge.settings import is_domain

logger = logging.getLogger(__name__)

__all__ = ["TEMPLATE", "ProsodyError", "ProsodyServer"]

_USER_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_PORT_FAILURE_RE = re.compile(r"Failed to open server port (\d+)")


class _ProsodyctlError(ProsodyError):
    def __init__(self, command: str, code: int, output: str) -> None:
        super().__init__(f"`prosodyctl {command}` failed with exit code {code}: {output}")
        self.output = output


def is_root() -> bool:
    return os.geteuid() == 0


class ProsodyServer(PrivateServer):
    """Configure, start, stop and add accounts to one Prosody under ``base_dir``."""

    NAME = "Prosody"
    START_TIMEOUT = 20.0
    STOP_TIMEOUT = 10.0

    def __init__(
        self,
        base_dir: Path,
        *,
        domain: str = "localhost",
        component_jid: str = "chat.localhost",
        component_secret: str,
        c2s_port: int = 5222,
        component_port: int = 5347,
        websocket_port: int | None = None,
        host: str = "127.0.0.1",
        log_level: str = "info",
        template: Path | None = None,
    ) -> None:
        for what, name in (("domain", domain), ("component_jid", component_jid)):
            if not is_domain(name):
                raise ValueError(f"{what} {name!r} is not a valid domain name")
        if not component_secret:
            raise ValueError("component_secret must not be empty")
        self.base_dir = base_dir.resolve()
        self.domain = domain
        self.component_jid = component_jid
        self.component_secret = component_secret
        self.c2s_port = c2s_port
        self.component_port = component_port
        self.websocket_port = websocket_port
        """Prosody's HTTP port, for XMPP over WebSocket only; None: no HTTP."""
        self.host = host
        self.log_level = log_level
        self.template = template or TEMPLATE
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None

    # -- paths ----------------------------------------------------------------------

    @property
    def config_file(self) -> Path:
        return self.base_dir / "prosody.cfg.lua"

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def certificates_dir(self) -> Path:
        return self.base_dir / "certs"

    @property
    def certificate(self) -> Path:
        return self.certificates_dir / f"{self.domain}.crt"

    @property
    def key(self) -> Path:
        return self.certificates_dir / f"{self.domain}.key"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "prosody.log"

    @property
    def output_file(self) -> Path:
        """Prosody's stdout and stderr: errors from before its logging starts land here."""
        return self.base_dir / "prosody.out"

    @property
    def pidfile(self) -> Path:
        return self.base_dir / PIDFILE

    @property
    def websocket_url(self) -> str | None:
        """``ws://host:port/xmpp-websocket`` for browser clients; None when off."""
        if self.websocket_port is None:
            return None
        return websocket_url(self.host, self.websocket_port)

    @property
    def ports(self) -> list[int]:
        """Every port this server listens on."""
        ports = [self.c2s_port, self.component_port]
        return ports if self.websocket_port is None else [*ports, self.websocket_port]

    # -- set-up ---------------------------------------------------------------------

    @staticmethod
    def ensure_installed() -> None:
        """Install Prosody from Debian when it is missing (root only)."""
        if shutil.which("prosody") and shutil.which("prosodyctl"):
            return
        command = "apt-get update && apt-get install -y prosody"
        if not is_root():
            raise ProsodyError(
                "Prosody is not installed, and installing it needs root. Run:\n"
                f"    sudo sh -c '{command}'\n"
                "then start again."
            )
        logger.info("Prosody is not installed; running: %s", command)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for args in (["apt-get", "update"], ["apt-get", "install", "-y", "prosody"]):
            result = subprocess.run(args, env=env, stdin=subprocess.DEVNULL, check=False)
            if result.returncode != 0:
                raise ProsodyError(f"`{' '.join(args)}` failed with exit code {result.returncode}")
        if not shutil.which("prosody"):
            raise ProsodyError("apt-get installed prosody, but `prosody` is not on PATH")

    def write_config(self) -> Path:
        """Write the configuration (and a certificate if there is none); returns its path."""
        try:
            template = self.template.read_text()
        except FileNotFoundError:
            raise ProsodyError(
                f"the Prosody template {self.template} is missing; "
                "`chat-engine dev` runs from a source checkout"
            ) from None
        for directory in (self.base_dir, self.data_dir, self.certificates_dir):
            private_dir(directory)
        self.ensure_certificate()
        text = render_config(
            ProsodyConfig(
                run_as_root=is_root(),
                data_dir=self.data_dir,
                pidfile=self.pidfile,
                certificates_dir=self.certificates_dir,
                certificate=self.certificate,
                key=self.key,
                log_level=self.log_level,
                log_file=self.log_file,
                host=self.host,
                c2s_port=self.c2s_port,
                component_port=self.component_port,
                websocket_port=self.websocket_port,
                domain=self.domain,
                component_jid=self.component_jid,
                component_secret=self.component_secret,
            ),
            template,
        )
        write_private(self.config_file, text)  # it holds the component secret
        return self.config_file

    def ensure_certificate(self) -> None:
        """A self-signed certificate for the domain and its subdomains, made once."""
        ensure_certificate(self.domain, self.certificate, self.key)

    def register(self, user: str, password: str) -> str:
        """Create the account ``user@domain`` or set its password; returns the JID.

        The password goes to prosodyctl on stdin, never on its command line: every local
        user can read the command lines of running processes.
        """
        if not _USER_RE.fullmatch(user):
            raise ValueError(f"{user!r} is not a valid user name")
        if not password or any(ch.isspace() for ch in password):
            raise ValueError("the password must be non-empty and have no whitespace")
        if not self.config_file.exists():
            self.write_config()
        jid = f"{user}@{self.domain}"
        typed_twice = f"{password}\n{password}\n"
        try:
            self._prosodyctl("adduser", jid, stdin=typed_twice)
        except _ProsodyctlError as failed:
            if "already exists" not in failed.output:
                raise
            self._prosodyctl("passwd", jid, stdin=typed_twice)
        return jid

    def _prosodyctl(self, *args: str, stdin: str = "") -> str:
        command = ["prosodyctl", "--config", str(self.config_file), *args]
        try:
            result = subprocess.run(
                command,
                input=stdin.encode(),
                capture_output=True,
                timeout=60,
                check=False,
                cwd=self.base_dir,
            )
        except FileNotFoundError:
            raise ProsodyError("prosodyctl is not installed (apt-get install prosody)") from None
        output = (result.stdout + result.stderr).decode(errors="replace").strip()
        if result.returncode != 0:
            raise _ProsodyctlError(args[0], result.returncode, output)
        return output

    # -- process --------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _pidfile_names(self, pid: int) -> bool:
        return read_pidfile(self.base_dir) == pid

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running and self._process else None

    def start(self, timeout: float = 20.0) -> None:
        """Start Prosody and return once all its ports (client, component, WebSocket)
        accept."""
        if self.running:
            return
        self.write_config()
        stop_leftover(self.base_dir)
        for port in self.ports:
            if not port_is_free(self.host, port):
                raise ProsodyError(
                    f"port {port} on {self.host} is already in use by another program; "
                    "stop it or choose another port"
                )
        with contextlib.suppress(FileNotFoundError):
            self.log_file.unlink()
        self._close_output()  # left open if the previous run crashed
        self._output = open(self.output_file, "wb", opener=private_opener)  # noqa: SIM115
        try:
            # A session of its own: Ctrl-C in the terminal reaches only the engine, which
            # then stops Prosody after the component has said goodbye.
            self._process = subprocess.Popen(
                ["prosody", "--config", str(self.config_file), "-F"],
                stdin=subprocess.DEVNULL,
                stdout=self._output,
                stderr=subprocess.STDOUT,
                cwd=self.base_dir,
                start_new_session=True,
            )
        except FileNotFoundError:
            self._close_output()
            raise ProsodyError("prosody is not installed (apt-get install prosody)") from None
        logger.info(
            "Prosody starting (pid %d) on %s: c2s %d, component %d, WebSocket %s",
            self._process.pid,
            self.host,
            self.c2s_port,
            self.component_port,
            self.websocket_port or "off",
        )
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                self._close_output()
                raise ProsodyError(f"Prosody exited with code {code}:\n{self.log_tail()}")
            failed = _PORT_FAILURE_RE.search(self._read_log())
            if failed:
                self.stop()
                raise ProsodyError(
                    f"Prosody could not listen on port {failed.group(1)}:\n{self.log_tail()}"
                )
            # Its pid file too: a later run finds a leftover of this one only through it.
            if all(accepts(self.host, port) for port in self.ports) and self._pidfile_names(
                self._process.pid
            ):
                return
            if time.monotonic() > deadline:
                self.stop()
                raise ProsodyError(
                    f"Prosody did not open its ports within {timeout:g} s:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, and SIGKILL if it has not exited after ``timeout`` seconds."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                logger.warning("Prosody did not stop within %g s; killing it", timeout)
                process.kill()
                process.wait()
            logger.info("Prosody stopped")
        self._close_output()
