"""HAProxy (Debian's ``haproxy`` package) in front of several engine processes, for
``chat-engine cluster`` and the scale-out tests.

The configuration is ``deploy/haproxy/haproxy.cfg`` (which explains the stickiness and
the timeouts) with its placeholders filled in, written to ``base_dir``. HAProxy runs in
the foreground (``-db``) as our child, in a session of its own, on ``host:port``; its
log goes to ``base_dir/haproxy.log``. Debian's package also enables a system service;
setup.sh disables it, and nothing here uses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import IO

from chat_engine.files import write_private
from chat_engine.local_ports import free_port
from chat_engine.private_server import private_opener, tail

logger = logging.getLogger(__name__)

TEMPLATE = Path(__file__).resolve().parent.parent / "deploy" / "haproxy" / "haproxy.cfg"
COOKIE = "CHAT_ENGINE_SERVER"
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")


class HaproxyError(Exception):
    """HAProxy is missing, its configuration is refused, or it did not start."""


@dataclass(frozen=True, slots=True)
class Backend:
    """One engine process behind HAProxy: its name (also its cookie value) and address."""

    name: str
    host: str
    port: int


def render_config(
    backends: Sequence[Backend], *, bind: str, cookie: str = COOKIE, template: Path = TEMPLATE
) -> str:
    for backend in backends:
        if not _NAME_RE.fullmatch(backend.name):
            raise ValueError(f"{backend.name!r} is not a valid server name")
    servers = "\n".join(
        f"    server {b.name} {b.host}:{b.port} cookie {b.name} check" for b in backends
    )
    return Template(template.read_text()).substitute(bind=bind, cookie=cookie, servers=servers)


class Haproxy:
    """One HAProxy process under ``base_dir`` balancing ``backends``."""

    def __init__(
        self,
        base_dir: Path,
        backends: Sequence[Backend],
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        template: Path = TEMPLATE,
    ) -> None:
        if not backends:
            raise ValueError("HAProxy needs at least one backend")
        self.base_dir = base_dir.resolve()
        self.backends = tuple(backends)
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.template = template
        self.config_file = self.base_dir / "haproxy.cfg"
        self.log_file = self.base_dir / "haproxy.log"
        self._process: asyncio.subprocess.Process | None = None
        self._output: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None and self.running else None

    def write_config(self) -> Path:
        self.base_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_private(
            self.config_file,
            render_config(self.backends, bind=f"{self.host}:{self.port}", template=self.template),
        )
        return self.config_file

    async def start(self, timeout: float = START_TIMEOUT) -> None:
        """Check the configuration, start HAProxy and wait until it accepts connections."""
        if self.running:
            return
        binary = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")
        if binary is None:
            raise HaproxyError("HAProxy is not installed (apt-get install haproxy)")
        self.write_config()
        check = await asyncio.create_subprocess_exec(
            binary, "-c", "-q", "-f", str(self.config_file),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await check.communicate()
        if check.returncode != 0:
            raise HaproxyError(
                f"HAProxy refuses {self.config_file}:\n{output.decode(errors='replace')}"
            )
        self._output = open(self.log_file, "ab", opener=private_opener)  # noqa: SIM115, ASYNC230 (a local file)
        self._process = await asyncio.create_subprocess_exec(
            binary, "-db", "-f", str(self.config_file),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._output,
            stderr=self._output,
            start_new_session=True,
        )  # fmt: skip
        logger.info("HAProxy starting (pid %d) on %s", self._process.pid, self.url)
        deadline = time.monotonic() + timeout
        while not await _accepts(self.host, self.port):
            if self._process.returncode is not None or time.monotonic() > deadline:
                code = self._process.returncode
                await self.stop()
                raise HaproxyError(
                    f"HAProxy did not start (exit code {code}):\n{tail(self.log_file)}"
                )
            await asyncio.sleep(0.05)

    async def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM (HAProxy's hard stop: every connection is closed at once)."""
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                async with asyncio.timeout(timeout):
                    await process.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if self._output is not None:
            self._output.close()
            self._output = None


async def _accepts(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection(host, port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True
