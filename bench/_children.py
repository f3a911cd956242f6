"""The orchestrator's side of the helper processes: spawn, talk JSON lines, stop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from pathlib import Path

from bench._common import Json

ROOT = Path(__file__).resolve().parent.parent
"""The checkout the helpers import the engine from (the one this bench lives in)."""


class ChildFailedError(RuntimeError):
    pass


class Child:
    """One helper process (``python -m bench._...``): commands in, reports out."""

    def __init__(self, name: str, process: asyncio.subprocess.Process, log: Path) -> None:
        self.name = name
        self.process = process
        self.log = log

    @classmethod
    async def spawn(
        cls, name: str, module: str, config: Json, log_dir: Path, env: dict[str, str] | None = None
    ) -> Child:
        log = log_dir / f"{name}.log"
        with open(log, "ab") as stderr:  # noqa: ASYNC230 - a local file, once per process
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                module,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                cwd=ROOT,
                env={**os.environ, **(env or {})},
                limit=64 * 1024 * 1024,  # a load's result carries every latency
            )
        child = cls(name, process, log)
        await child.send(config)
        return child

    @property
    def pid(self) -> int:
        return self.process.pid

    async def send(self, command: Json) -> None:
        stdin = self.process.stdin
        if stdin is None or stdin.is_closing():
            raise ChildFailedError(f"{self.name} is not running{self._log_tail()}")
        stdin.write(json.dumps(command).encode() + b"\n")
        with contextlib.suppress(ConnectionError):
            await stdin.drain()

    async def expect(self, event: str, timeout: float) -> Json:
        """Read reports until ``event``; ``ChildFailedError`` if the process ends first."""
        stdout = self.process.stdout
        assert stdout is not None
        try:
            async with asyncio.timeout(timeout):
                while True:
                    line = await stdout.readline()
                    if not line:
                        await self.process.wait()
                        raise ChildFailedError(
                            f"{self.name} exited with code {self.process.returncode} "
                            f"while the benchmark waited for {event!r}{self._log_tail()}"
                        )
                    try:
                        report: Json = json.loads(line)
                    except ValueError:
                        continue  # a library printing to stdout
                    if report.get("event") == event:
                        return report
        except TimeoutError:
            raise ChildFailedError(
                f"{self.name} did not report {event!r} within {timeout:g} s{self._log_tail()}"
            ) from None

    async def stop(self, timeout: float = 30.0) -> None:
        """Ask it to stop; SIGKILL if it has not exited after ``timeout`` seconds."""
        if self.process.returncode is None:
            with contextlib.suppress(ChildFailedError, ConnectionError):
                await self.send({"cmd": "stop"})
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                print(f"  ({self.name} did not stop within {timeout:g} s: killed)", flush=True)
                self.process.kill()
                await self.process.wait()

    def _log_tail(self, lines: int = 25) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        tail = "\n".join(text.splitlines()[-lines:])
        return f"; the end of {self.log}:\n{tail}" if tail else ""
