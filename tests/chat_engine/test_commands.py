"""``chat-engine dev`` and ``chat-engine run`` as real processes, the way ``make run`` and
systemd start them: banner, working accounts, clean stop on SIGINT/SIGTERM, and a second
``dev`` run that reuses what the first one made."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from chat_engine.local_ports import free_port
from chat_engine.prosody import ProsodyServer
from chat_engine.prosody_leftovers import stop_leftover
from tests.chat_engine.xmpp_client import Login, client_login

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("prosody") is None, reason="Prosody is not installed"),
]

REPO = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60
STOP_SECONDS = 20


def command_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAT_ENGINE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return {**env, **extra}


@asynccontextmanager
async def chat_engine(
    cwd: Path, *args: str, until: str, env: dict[str, str]
) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """Run ``chat-engine ARGS`` and yield (process, stdout so far) once ``until`` shows."""
    log = (cwd / "stderr.log").open("ab")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chat_engine",
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=log,
    )
    try:
        assert process.stdout is not None
        output = ""
        async with asyncio.timeout(STARTUP_SECONDS):
            while until not in output:
                line = await process.stdout.readline()
                if not line:
                    await process.wait()
                    log.flush()
                    raise AssertionError(
                        f"chat-engine {' '.join(args)} exited with {process.returncode}:\n"
                        + output
                        + (cwd / "stderr.log").read_text()
                    )
                output += line.decode()
        yield process, output
    finally:
        if process.returncode is None:
            # Politely first: SIGKILL would leave its Prosody running, orphaned.
            process.terminate()
            try:
                async with asyncio.timeout(STOP_SECONDS):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()
        await asyncio.to_thread(stop_leftover, cwd / "var" / "prosody")
        log.close()


async def stop(process: asyncio.subprocess.Process, sig: signal.Signals) -> str:
    """Send ``sig``; return the rest of stdout once the process has exited."""
    assert process.stdout is not None
    process.send_signal(sig)
    async with asyncio.timeout(STOP_SECONDS):
        rest = await process.stdout.read()
        await process.wait()
    return rest.decode()


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


async def status_of(url: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status


async def test_dev_sets_up_runs_stops_and_reuses(tmp_path: Path) -> None:
    c2s_port, component_port, websocket_port = free_port(), free_port(), free_port()
    args = [
        *("dev", "--port", "0", "--c2s-port", str(c2s_port)),
        *("--websocket-port", str(websocket_port)),
    ]
    env = command_env(CHAT_ENGINE_XMPP_PORT=str(component_port))

    async with chat_engine(tmp_path, *args, until="Press Ctrl-C to stop.", env=env) as (
        process,
        banner,
    ):
        demo = re.search(r"Demo page:\s+(http://127\.0\.0\.1:\d+/demo)", banner)
        passwords = dict(re.findall(r"(agent\d@localhost)\s+password: (\S+)", banner))
        assert demo, banner
        assert sorted(passwords) == ["agent1@localhost", "agent2@localhost"], banner
        assert f"host 127.0.0.1, port {c2s_port}" in banner
        assert f"ws://127.0.0.1:{websocket_port}/xmpp-websocket" in banner
        assert "support@chat.localhost" in banner
        assert "not connected" not in banner  # the component reached Prosody

        assert await status_of(demo.group(1)) == 200
        for jid, password in passwords.items():
            login = await client_login(jid, password, "127.0.0.1", c2s_port)
            assert login == Login(ok=True, encrypted=True)

        # The agents are in queue support with up to 3 chats, as the admin command shows.
        listing = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "chat_engine",
            "agent",
            "list",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
        )
        listed, _ = await listing.communicate()
        rows = [line.split() for line in listed.decode().splitlines()[1:]]
        assert [row[:2] for row in rows] == [
            ["agent1@localhost", "Alex"],
            ["agent2@localhost", "Sam"],
        ]
        assert all(row[2:4] == ["3", "support"] for row in rows)

        prosody_pid = int((tmp_path / "var" / "prosody" / "prosody.pid").read_text())
        assert alive(prosody_pid)

        rest = await stop(process, signal.SIGINT)
        assert process.returncode == 0, (tmp_path / "stderr.log").read_text()
        assert "Stopped." in rest
        assert not alive(prosody_pid)  # Ctrl-C stops Prosody too

    # A second run reuses the passwords, accounts, secret and database.
    async with chat_engine(tmp_path, *args, until="Press Ctrl-C to stop.", env=env) as (
        process,
        banner,
    ):
        again = dict(re.findall(r"(agent\d@localhost)\s+password: (\S+)", banner))
        assert again == passwords
        assert (
            await client_login("agent1@localhost", again["agent1@localhost"], "127.0.0.1", c2s_port)
        ).ok
        await stop(process, signal.SIGTERM)
        assert process.returncode == 0
    log = (tmp_path / "stderr.log").read_text()
    assert "Traceback" not in log


@pytest.fixture
def prosody(tmp_path: Path) -> Iterator[ProsodyServer]:
    server = ProsodyServer(
        tmp_path / "prosody",
        component_secret="run-test-secret-run-test-secret-run",
        c2s_port=free_port(),
        component_port=free_port(),
    )
    server.start()
    yield server
    server.stop()


async def test_run_serves_until_sigterm(tmp_path: Path, prosody: ProsodyServer) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(prosody.component_secret + "\n")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[xmpp]\nport = {prosody.component_port}\nsecret_file = "{secret_file}"\n'
        '[database]\nurl = "sqlite+aiosqlite:///data/engine.db"\n'
    )
    env = command_env(CHAT_ENGINE_CONFIG=str(config))

    async with chat_engine(tmp_path, "run", "--port", "0", until="(Ctrl-C to stop)", env=env) as (
        process,
        output,
    ):
        url = re.search(r"running at (http://\S+)", output)
        assert url, output
        assert await status_of(f"{url.group(1)}/demo") == 200
        await stop(process, signal.SIGTERM)
        assert process.returncode == 0, (tmp_path / "stderr.log").read_text()
    # The relative SQLite path is taken from where the command ran.
    assert (tmp_path / "data" / "engine.db").is_file()
