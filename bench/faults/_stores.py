"""Private PostgreSQL and Redis servers that a fault scenario may stop and start at will.

Never the machine's shared ones: each listens on a free port of 127.0.0.1 with its data
and sockets in a directory of the scenario's own, and is stopped when the scenario ends.
PostgreSQL refuses to run as root; run as root, the cluster runs as the ``postgres``
user in a private directory of the system's temporary directory (the scenario's work
directory may not be reachable for that user), removed at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import shutil
import socket
import tempfile
import time
from pathlib import Path

START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _run(*argv: str, log: Path) -> None:
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out
        )
        code = await process.wait()
    if code != 0:
        raise RuntimeError(f"{argv[0]} exited with {code}; its output ends with:\n{_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:]


async def wait_for_port(port: int, timeout: float = START_TIMEOUT) -> None:
    async with asyncio.timeout(timeout):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.02)
                continue
            writer.close()
            await writer.wait_closed()
            return


class PrivatePostgres:
    """A PostgreSQL cluster of its own: ``initdb``, then ``pg_ctl start|stop``."""

    def __init__(self, work: Path) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        bindir = Path(found[-1]).parent if found else None
        if bindir is None and (pg_ctl := shutil.which("pg_ctl")) is not None:
            bindir = Path(pg_ctl).parent
        if bindir is None:
            raise RuntimeError("PostgreSQL's initdb and pg_ctl are not installed")
        self._bin = bindir
        self._as: tuple[str, ...] = ()
        self._private: Path | None = None
        work.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            self._private = Path(tempfile.mkdtemp(prefix="faults-postgres-"))
            os.chown(self._private, owner.pw_uid, owner.pw_gid)
            self._as = ("runuser", "-u", "postgres", "--")
            root = self._private
        else:
            root = work / "postgres"
            root.mkdir(mode=0o700, exist_ok=True)
        self.data = root / "data"
        self.sockets = root / "sockets"
        self.log = work / "postgres.log"
        self.port = free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _tool(self, name: str, *args: str) -> tuple[str, ...]:
        return (*self._as, str(self._bin / name), *args)

    async def create(self) -> None:
        """``initdb`` (trust authentication for local connections only) and start."""
        await _run(
            *self._tool(
                "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync"
            ),
            log=self.log,
        )
        if self._as:
            await _run(*self._as, "mkdir", "-p", str(self.sockets), log=self.log)
        else:
            self.sockets.mkdir(exist_ok=True)
        await self.start()

    async def start(self) -> float:
        """Start the server and wait until it accepts connections; returns the wall-clock
        time it did."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.sockets} -c max_connections=100"
        )
        await _run(
            *self._tool(
                "pg_ctl",
                "-D",
                str(self.data),
                "-l",
                str(self.data / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                str(int(START_TIMEOUT)),
                "start",
            ),
            log=self.log,
        )
        return time.time()

    async def stop(self, mode: str = "immediate") -> None:
        """``pg_ctl stop -m immediate``: every backend ends at once, no checkpoint (what a
        crash of the server looks like to its clients; committed data is in the WAL)."""
        await _run(
            *self._tool("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop"), log=self.log
        )

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.stop("fast")
        if self._private is not None:
            shutil.rmtree(self._private, ignore_errors=True)


class PrivateRedis:
    """A redis-server of its own, without persistence, stopped and started on one port."""

    def __init__(self, work: Path) -> None:
        server = shutil.which("redis-server")
        if server is None:
            raise RuntimeError("redis-server is not installed")
        self._server = server
        self._log = work / "redis.log"
        work.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> float:
        """Start it and wait until it accepts connections; returns the wall-clock time."""
        with self._log.open("ab") as out:
            self._process = await asyncio.create_subprocess_exec(
                self._server,
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no"),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        await wait_for_port(self.port)
        return time.time()

    async def stop(self) -> None:
        """SIGKILL: the connections drop at once, as when Redis crashes."""
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()

    async def close(self) -> None:
        await self.stop()
