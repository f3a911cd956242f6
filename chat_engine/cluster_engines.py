"""The engine processes of ``chat_engine.cluster``: each a ``chat-engine run`` child on
a fixed HTTP port, started, stopped, killed and started again by the cluster."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

import aiohttp

from chat_engine.private_server import private_opener, tail

logger = logging.getLogger(__name__)

ENGINE_START_TIMEOUT = 90.0
"""Until an engine process answers ``/healthz`` (its database and XMPP link both up)."""
ENGINE_STOP_TIMEOUT = 30.0
"""After SIGTERM (a drain of ``http.drain_seconds``) or SIGINT, until SIGKILL."""


class ClusterError(Exception):
    """A part of the cluster did not start (the message says which and why)."""


class EngineProcess:
    """One ``chat-engine run`` child: its HTTP port stays the same across restarts, so
    HAProxy finds it again."""

    def __init__(self, number: int, host: str, port: int, env: Mapping[str, str], log_file: Path):
        self.number = number
        self.name = f"engine{number}"
        self.host = host
        self.port = port
        self.log_file = log_file
        self._env = dict(env)
        self._process: asyncio.subprocess.Process | None = None
        self._output: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running and self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def start(self, timeout: float = ENGINE_START_TIMEOUT) -> None:
        """Start the process and return once its ``/healthz`` answers 200."""
        if self.running:
            return
        self._output = open(self.log_file, "ab", opener=private_opener)  # noqa: SIM115, ASYNC230 (a local file)
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "chat_engine", "run",
            env=self._env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._output,
            stderr=self._output,
            start_new_session=True,  # Ctrl-C in a terminal reaches only `cluster`
        )  # fmt: skip
        logger.info("%s starting (pid %d) on %s", self.name, self._process.pid, self.url)
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while not await _healthy(http, self.url):
                if not self.running or time.monotonic() > deadline:
                    code = self._process.returncode
                    await self.stop(signal.SIGKILL)
                    raise ClusterError(
                        f"{self.name} did not become healthy (exit code {code}):\n"
                        f"{tail(self.log_file)}"
                    )
                await asyncio.sleep(0.2)

    async def stop(
        self, how: signal.Signals = signal.SIGINT, timeout: float = ENGINE_STOP_TIMEOUT
    ) -> int | None:
        """Send ``how`` (SIGINT: stop at once; SIGTERM: drain first; SIGKILL: a crash) and
        wait for the exit; returns the exit code (None if it was not running)."""
        process, self._process = self._process, None
        code = None
        if process is not None:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(how)
                try:
                    async with asyncio.timeout(timeout):
                        await process.wait()
                except TimeoutError:
                    logger.warning("%s did not stop within %g s; killing it", self.name, timeout)
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
                    await process.wait()
            code = process.returncode
        if self._output is not None:
            self._output.close()
            self._output = None
        return code


async def _healthy(http: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with http.get(f"{url}/healthz", timeout=aiohttp.ClientTimeout(total=3)) as response:
            return response.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False
