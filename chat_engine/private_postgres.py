"""A private PostgreSQL cluster for ``chat-engine cluster``, the scale-out tests and the
fault benchmarks: never the machine's shared server.

``initdb`` makes the cluster (trust authentication, which is safe only because the
server listens on loopback and on a socket directory of its own), ``pg_ctl`` starts and
stops it on a free port of ``host``. PostgreSQL refuses to run as root: as root, every
PostgreSQL command runs as the ``postgres`` user (``runuser``), and the data directory is
a private directory in ``/tmp`` owned by that user, since our
own directories (``var/``, owner-only) are closed to it; it is removed by ``close()``,
and the server's log is copied into ``base_dir`` first. As any other user the data stays
in ``base_dir/data`` and a later run starts on it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import shutil
import tempfile
import time
from pathlib import Path

from chat_engine.local_ports import free_port

START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0


class PostgresError(Exception):
    """PostgreSQL is missing or one of its commands failed (the message says which)."""


def postgres_bindir() -> Path:
    """Where ``initdb`` and ``pg_ctl`` are: Debian keeps them out of ``PATH``."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl is None:
        raise PostgresError(
            "PostgreSQL's initdb and pg_ctl are not installed (apt-get install postgresql)"
        )
    return Path(pg_ctl).parent


class PrivatePostgres:
    """One PostgreSQL cluster under ``base_dir``, listening on ``host:port`` only.

    ``url`` is the SQLAlchemy URL of its ``postgres`` database as the ``postgres`` user.
    ``start()`` makes the cluster on first use; ``stop()`` and ``start()`` may then be
    repeated (a fault scenario restarts it under load); ``close()`` stops it for good.
    """

    def __init__(
        self,
        base_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        max_connections: int = 200,
    ) -> None:
        self._bin = postgres_bindir()
        self.base_dir = base_dir.resolve()
        self.base_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.max_connections = max_connections
        self._as: tuple[str, ...] = ()
        self._temporary: Path | None = None
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            # In /tmp itself: $TMPDIR may be a private directory the postgres user
            # cannot enter either.
            self._temporary = Path(tempfile.mkdtemp(prefix="chat-engine-postgres-", dir="/tmp"))
            os.chown(self._temporary, owner.pw_uid, owner.pw_gid)
            self._as = ("runuser", "-u", "postgres", "--")
            root = self._temporary
        else:
            root = self.base_dir
        self.data_dir = root / "data"
        self.socket_dir = root / "sockets"
        self.server_log = root / "server.log"
        """The server's own log (written by the ``postgres`` user)."""
        self.log_file = self.base_dir / "postgres.log"
        """The output of ``initdb`` and ``pg_ctl``; the server's log is appended on close."""
        self.url = f"postgresql+asyncpg://postgres@{host}:{self.port}/postgres"

    def _tool(self, name: str, *args: str) -> tuple[str, ...]:
        return (*self._as, str(self._bin / name), *args)

    async def _run(self, *argv: str) -> None:
        with self.log_file.open("ab") as out:
            process = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out
            )
            code = await process.wait()
        if code != 0:
            tail = self.log_file.read_text(errors="replace")[-2000:]
            raise PostgresError(f"{Path(argv[len(self._as)]).name} exited with {code}:\n{tail}")

    async def _create(self) -> None:
        await self._run(
            *self._tool(
                "initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "--no-sync"
            )
        )

    async def start(self) -> float:
        """Make the cluster if it does not exist yet, start the server and wait until it
        accepts connections; returns the wall-clock time it did."""
        if not (self.data_dir / "PG_VERSION").exists():
            await self._create()
        await self._run(*self._as, "mkdir", "-p", str(self.socket_dir))
        options = (
            f"-p {self.port} -c listen_addresses={self.host} "
            f"-c unix_socket_directories={self.socket_dir} "
            f"-c max_connections={self.max_connections}"
        )
        await self._run(
            *self._tool(
                "pg_ctl",
                *("-D", str(self.data_dir), "-l", str(self.server_log), "-o", options),
                *("-w", "-t", str(int(START_TIMEOUT)), "start"),
            )
        )
        return time.time()

    async def stop(self, mode: str = "fast") -> None:
        """``pg_ctl stop -m MODE``: ``fast`` ends the sessions and checkpoints;
        ``immediate`` ends every backend at once without a checkpoint (what a crash of
        the server looks like to its clients; committed data is in the WAL)."""
        await self._run(
            *self._tool(
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-m",
                mode,
                "-w",
                "-t",
                str(int(STOP_TIMEOUT)),
                "stop",
            )
        )

    @property
    def pid(self) -> int | None:
        """The postmaster's pid while the server runs."""
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    async def close(self) -> None:
        """Stop the server if it runs; as root, keep its log and remove the cluster."""
        if self.pid is not None:
            with contextlib.suppress(PostgresError):
                await self.stop("fast")
        if self._temporary is not None:
            with contextlib.suppress(OSError), self.log_file.open("ab") as out:
                out.write(self.server_log.read_bytes())
            shutil.rmtree(self._temporary, ignore_errors=True)
            self._temporary = None
