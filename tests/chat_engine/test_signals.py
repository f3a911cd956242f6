"""How the long-running commands react to signals."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

_PROGRAM = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from chat_engine.signals import StopSignal

    async def main() -> None:
        with StopSignal() as stop:
            os.kill(os.getpid(), signal.{name})
            await asyncio.wait_for(stop.wait(), 10)
        print("stopped cleanly")

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_stops_cleanly(sig: signal.Signals) -> None:
    # SIGHUP is what a closed terminal or a dropped ssh session sends to `make run`:
    # without a handler the engine dies on the spot and its Prosody (in a session of its
    # own) keeps running with the ports.
    result = subprocess.run(
        [sys.executable, "-c", _PROGRAM.format(name=sig.name)],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b"stopped cleanly\n"


_TWICE = textwrap.dedent(
    """
    import asyncio, os, signal
    from chat_engine.signals import StopSignal

    async def main() -> None:
        with StopSignal() as stop:
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.wait_for(stop.wait(), 10)
            print(stop.received.name, stop.again.is_set())
            os.kill(os.getpid(), signal.SIGINT)
            await asyncio.wait_for(stop.again.wait(), 10)
            print(stop.received.name, stop.again.is_set())

    asyncio.run(main())
    """
)


def test_the_first_signal_is_kept_and_a_second_one_says_hurry() -> None:
    # `run` drains on SIGTERM only; a second signal cuts the drain short.
    result = subprocess.run(
        [sys.executable, "-c", _TWICE],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b"SIGTERM False\nSIGTERM True\n"
