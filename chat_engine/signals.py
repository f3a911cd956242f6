"""SIGINT, SIGTERM and SIGHUP for the long-running commands (``run`` and ``dev``)."""

from __future__ import annotations

import asyncio
import logging
import signal
from types import TracebackType
from typing import Self

logger = logging.getLogger(__name__)

# SIGHUP too: a closed terminal or a dropped ssh session would otherwise kill ``dev`` on
# the spot and leave its Prosody (in a session of its own) running with the ports.
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopSignal:
    """Turns the first Ctrl-C, SIGTERM or SIGHUP into a clean stop.

    The first signal only wakes ``wait()``: start-up is never cut in half, because a
    half-started Prosody or a cancelled thread could outlive us. A second signal puts the
    default handlers back, so a third one stops the process the hard way if clean-up hangs.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.again = asyncio.Event()
        """Set by a second signal: whatever the first one started, finish it now."""
        self.received: signal.Signals | None = None
        """The first signal."""
        self._installed = False

    def install(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in _SIGNALS:
            loop.add_signal_handler(sig, self._received, sig)
        self._installed = True

    def uninstall(self) -> None:
        if not self._installed:
            return
        loop = asyncio.get_running_loop()
        for sig in _SIGNALS:
            loop.remove_signal_handler(sig)
        self._installed = False

    def set(self) -> None:
        self._event.set()

    @property
    def is_set(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> None:
        await self._event.wait()

    def _received(self, sig: signal.Signals) -> None:
        if self._event.is_set():
            logger.warning("%s again: press Ctrl-C once more to stop without cleaning up", sig.name)
            self.again.set()
            self.uninstall()
            return
        logger.info("%s received, stopping", sig.name)
        self.received = sig
        self._event.set()

    def __enter__(self) -> Self:
        self.install()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.uninstall()
