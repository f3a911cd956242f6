"""A private, authenticated redis-server for ``chat-engine cluster``, the scale-out
tests and the fault benchmarks: never the machine's shared one.

It runs in the foreground as our child (a session of its own, so Ctrl-C in a terminal
reaches only us) from a configuration file in ``base_dir`` that holds the password
(``requirepass``: python-socketio's message queue is authenticated, as in production)
and keeps it off the command line. It listens on ``host:port`` only, with no
persistence: the message queue holds nothing worth keeping. Debian's ``redis-server``
package also enables a system service; setup.sh disables it, and nothing here uses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import time
from pathlib import Path
from typing import IO

from chat_engine.files import write_private
from chat_engine.local_ports import free_port
from chat_engine.private_server import private_opener, tail

logger = logging.getLogger(__name__)

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


class RedisError(Exception):
    """redis-server is missing or did not start (the message says why)."""


class PrivateRedis:
    """One redis-server under ``base_dir``; ``url`` carries the password."""

    def __init__(
        self,
        base_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        password: str | None = None,
    ) -> None:
        server = shutil.which("redis-server") or (
            "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
        )
        if server is None:
            raise RedisError("redis-server is not installed (apt-get install redis-server)")
        self._server = server
        self.base_dir = base_dir.resolve()
        self.base_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.password = password or secrets.token_urlsafe(24)
        self.config_file = self.base_dir / "redis.conf"
        self.log_file = self.base_dir / "redis.log"
        self._process: asyncio.subprocess.Process | None = None
        self._output: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@{self.host}:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None and self.running else None

    def _write_config(self) -> None:
        write_private(
            self.config_file,
            "\n".join(
                [
                    f"bind {self.host}",
                    f"port {self.port}",
                    f"requirepass {self.password}",
                    f"dir {self.base_dir}",
                    'save ""',
                    "appendonly no",
                    "daemonize no",
                    'logfile ""',
                    "protected-mode yes",
                    "",
                ]
            ),
        )

    async def start(self, timeout: float = START_TIMEOUT) -> float:
        """Start it and wait until it accepts connections; returns the wall-clock time."""
        if self.running:
            return time.time()
        self._write_config()
        self._output = open(self.log_file, "ab", opener=private_opener)  # noqa: SIM115, ASYNC230 (a local file)
        self._process = await asyncio.create_subprocess_exec(
            self._server,
            str(self.config_file),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._output,
            stderr=self._output,
            start_new_session=True,
        )
        logger.info(
            "redis-server starting (pid %d) on %s:%d", self._process.pid, self.host, self.port
        )
        deadline = time.monotonic() + timeout
        while not await self._answers():
            if self._process.returncode is not None or time.monotonic() > deadline:
                code = self._process.returncode
                await self.stop()
                raise RedisError(
                    f"redis-server did not start (exit code {code}):\n{tail(self.log_file)}"
                )
            await asyncio.sleep(0.05)
        return time.time()

    async def _answers(self) -> bool:
        """It accepts a connection and answers ``PING`` (with ``NOAUTH``, being protected:
        any answer means it is serving)."""
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            return False
        try:
            writer.write(b"PING\r\n")
            await writer.drain()
            async with asyncio.timeout(1.0):
                line = await reader.readline()
            return line.startswith((b"+", b"-"))
        except (OSError, TimeoutError):
            return False
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def stop(self, *, kill: bool = False, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM (or SIGKILL with ``kill``: the connections drop at once, as when Redis
        crashes); returns once it has exited."""
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill() if kill else process.terminate()
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

    async def close(self) -> None:
        await self.stop()
