"""What the private XMPP servers the project starts (``ProsodyServer``,
``EjabberdServer``) share: their output and log files, the tail of both when something
goes wrong, blocking start/stop run in a worker thread for asyncio callers, and use as a
context manager."""

from __future__ import annotations

import asyncio
import os
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import IO, ClassVar, Self

from chat_engine.files import PRIVATE_FILE

LOG_TAIL_LINES = 30


def private_opener(path: str, flags: int) -> int:
    """For ``open(..., opener=)``: a file only its owner may read."""
    fd = os.open(path, flags, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)  # also when an older run made it readable to others
    return fd


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class PrivateServer(ABC):
    """One XMPP server process under a directory of our own."""

    NAME: ClassVar[str]
    START_TIMEOUT: ClassVar[float]
    STOP_TIMEOUT: ClassVar[float]

    _output: IO[bytes] | None

    @property
    @abstractmethod
    def log_file(self) -> Path: ...

    @property
    @abstractmethod
    def output_file(self) -> Path: ...

    @abstractmethod
    def start(self, timeout: float) -> None: ...

    @abstractmethod
    def stop(self, timeout: float) -> None: ...

    @abstractmethod
    def register(self, user: str, password: str) -> str: ...

    def restart(self, timeout: float | None = None) -> None:
        self.stop(self.STOP_TIMEOUT)
        self.start(self.START_TIMEOUT if timeout is None else timeout)

    # The timeouts bound the blocking calls in the worker thread, which asyncio.timeout
    # could not interrupt.
    async def astart(self, timeout: float | None = None) -> None:
        await asyncio.to_thread(self.start, self.START_TIMEOUT if timeout is None else timeout)

    async def astop(self, timeout: float | None = None) -> None:
        await asyncio.to_thread(self.stop, self.STOP_TIMEOUT if timeout is None else timeout)

    async def arestart(self, timeout: float | None = None) -> None:
        await asyncio.to_thread(self.restart, timeout)

    async def aregister(self, user: str, password: str) -> str:
        return await asyncio.to_thread(self.register, user, password)

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        parts = [tail(self.output_file, lines), tail(self.log_file, lines)]
        return "\n".join(part for part in parts if part) or f"({self.NAME} wrote no log)"

    def _read_log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def _close_output(self) -> None:
        if self._output is not None:
            self._output.close()
            self._output = None

    def __enter__(self) -> Self:
        self.start(self.START_TIMEOUT)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop(self.STOP_TIMEOUT)
