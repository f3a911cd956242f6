"""One headless Chromium per test process, shared by every browser test.

Launching Chromium costs a second or more per test (two on a busy machine), and some
150 tests use one. Playwright's objects belong to the event loop that made them and each
test has a loop of its own, so the browser runs under a Playwright of its own, in a thread
with its own loop, and listens on a loopback DevTools port; each test connects to it
(``connect_over_cdp``, a few tens of milliseconds) and works in contexts of its own, which
share no cookies, storage or cache with other tests' contexts and are closed when the
test's connection closes.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from playwright.async_api import async_playwright


class SharedChromium:
    """Chromium in a background thread: ``start()``, then connect to ``endpoint``."""

    def __init__(self, executable: Path, args: Sequence[str]) -> None:
        self._executable = executable
        self._args = [*args, "--remote-debugging-port=0"]
        self._profile = tempfile.TemporaryDirectory(prefix="chat-engine-chromium-")
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.endpoint = ""
        """``http://127.0.0.1:PORT``, for ``connect_over_cdp``."""

    def start(self, timeout: float = 60.0) -> None:
        self._thread = threading.Thread(target=self._run, name="shared-chromium", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"Chromium did not start within {timeout} s")
        if self._error is not None:
            raise RuntimeError("Chromium did not start") from self._error

    def stop(self, timeout: float = 30.0) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout)
        self._profile.cleanup()

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # reported to start(), which is waiting
            self._error = error
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        profile = Path(self._profile.name)
        async with async_playwright() as pw:
            # A persistent profile, so that Chromium writes the DevTools port it chose
            # (port 0: no race with other processes for a free port) into a known file.
            context = await pw.chromium.launch_persistent_context(
                profile, executable_path=str(self._executable), args=self._args
            )
            try:
                active = profile / "DevToolsActivePort"
                for _ in range(600):
                    if active.is_file() and active.read_text().strip():
                        break
                    await asyncio.sleep(0.05)
                port = active.read_text().splitlines()[0]
                self.endpoint = f"http://127.0.0.1:{port}"
                self._ready.set()
                await self._stop.wait()
            finally:
                await context.close()
