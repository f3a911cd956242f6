"""Profanity, the console XMPP client, driven headless in tmux as an agent would use it.

Profanity's HOME and XDG directories and its account file live in one temporary directory
(no user configuration is read or written), and each client has its own tmux server (a
socket name of its own, no ~/.tmux.conf), so a test never touches anybody else's tmux.
Keys go in with ``tmux send-keys``; what the agent would see comes out with
``tmux capture-pane``.

Profanity is a full-screen curses program: the pane shows only its current window (the
console, or one chat), so a test opens the chat it wants to read (``open``). The pane is
made wide enough that no line of a test wraps: Profanity lays out long lines itself, which
``capture-pane -J`` (it joins what the terminal wrapped) would not undo.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import time
from pathlib import Path

import pytest

ACCOUNT = "agent"
SESSION = "profanity"
WIDTH, HEIGHT = 300, 120
WAIT = 20.0

# Quiet and predictable: no splash, no version check, no auto-away, no desktop
# notifications (there is no desktop), nothing that would change while a test runs.
PROFRC = """\
[ui]
splash=false
vercheck=false

[notifications]
message=false
typing=false
invite=false
sub=false

[presence]
autoaway.mode=off
autoaway.check=false

[connection]
autoping=0
"""

# remain-on-exit keeps the last screen of a Profanity that died, for the failure message;
# -f with this file also keeps the user's ~/.tmux.conf out.
TMUX_CONF = """\
set -g remain-on-exit on
set -g history-limit 50000
set -g status off
"""


def require_profanity() -> None:
    """Skip when Profanity or tmux is missing, except in CI (``CI=true``), where
    ``deploy/scripts/setup.sh --test`` installs them and a missing one is a failure."""
    missing = [name for name in ("profanity", "tmux") if shutil.which(name) is None]
    if not missing:
        return
    reason = f"{' and '.join(missing)} not installed (deploy/scripts/setup.sh --test installs it)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


class Profanity:
    """One Profanity logged in as ``jid``; ``stop`` ends it, whatever state it is in."""

    def __init__(self, base_dir: Path, *, jid: str, password: str, host: str, port: int) -> None:
        self.base_dir = base_dir
        self.jid = jid
        self._password = password
        self._host = host
        self._port = port
        # A socket name rather than a path under base_dir: socket paths are limited to
        # about 100 bytes, and pytest's temporary directories can be longer.
        self._socket_name = f"chat-engine-test-{secrets.token_hex(6)}"
        self._socket_path = ""
        self._started = False

    @property
    def log_file(self) -> Path:
        return self.base_dir / "data" / "profanity" / "logs" / "profanity.log"

    async def start(self, timeout: float = WAIT) -> None:
        """Start Profanity with the account and wait until it has logged in."""
        home, config, data = (self.base_dir / name for name in ("home", "config", "data"))
        for directory in (home, config / "profanity", data / "profanity"):
            directory.mkdir(parents=True, exist_ok=True)
        (config / "profanity" / "profrc").write_text(PROFRC)
        # The account file Profanity writes itself after `/account add` and `/account set`;
        # written here so the password never goes through the screen. `tls.policy=trust`
        # accepts the test server's self-signed certificate (STARTTLS still on).
        accounts = data / "profanity" / "accounts"
        accounts.write_text(
            f"[{ACCOUNT}]\n"
            "enabled=true\n"
            f"jid={self.jid}\n"
            f"server={self._host}\n"
            f"port={self._port}\n"
            f"password={self._password}\n"
            "tls.policy=trust\n"
            "resource=profanity\n"
            "presence.login=online\n"
        )
        accounts.chmod(0o600)
        tmux_conf = self.base_dir / "tmux.conf"
        tmux_conf.write_text(TMUX_CONF)
        env = {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(config),
            "XDG_DATA_HOME": str(data),
            "XDG_CACHE_HOME": str(self.base_dir / "cache"),
            "LANG": "C.UTF-8",
            "TERM": "tmux-256color",
        }
        command = ["env", "-u", "DISPLAY", "-u", "DBUS_SESSION_BUS_ADDRESS"]
        command += [f"{key}={value}" for key, value in env.items()]
        command += ["profanity", "-a", ACCOUNT, "-l", "DEBUG"]
        self._started = True
        await self._tmux(
            "-f", str(tmux_conf), "new-session", "-d", "-s", SESSION,
            "-x", str(WIDTH), "-y", str(HEIGHT), "--", *command,
        )  # fmt: skip
        self._socket_path = (await self._tmux("display-message", "-p", "#{socket_path}")).strip()
        await self.wait_for("logged in successfully", timeout=timeout)

    async def stop(self) -> None:
        """Kill the tmux server, and with it Profanity; safe to call more than once."""
        if not self._started:
            return
        self._started = False
        await self._tmux("kill-server", check=False)
        # tmux 3.3 leaves the socket file behind after kill-server.
        if self._socket_path:
            await asyncio.to_thread(Path(self._socket_path).unlink, missing_ok=True)

    # -- keys in, screen out --------------------------------------------------------

    async def command(self, line: str) -> None:
        """Type ``line`` into Profanity's input and press Enter."""
        # -l: the text literally (no key names); Enter separately, as a key.
        await self._tmux("send-keys", "-t", SESSION, "-l", line)
        await self._tmux("send-keys", "-t", SESSION, "Enter")

    async def send(self, jid: str, text: str) -> None:
        """Send ``text`` to ``jid`` (and show that chat): ``/msg`` works from any window,
        for a contact or a stranger, where typing into the current window would depend
        on which window is current."""
        await self.command(f"/msg {jid} {text}")

    async def open(self, jid: str) -> None:
        """Show the chat window with ``jid`` (opening it if needed)."""
        await self.command(f"/msg {jid}")

    async def screen(self) -> str:
        """What the pane shows, and its history, wrapped lines joined."""
        return await self._tmux("capture-pane", "-p", "-J", "-S", "-", "-t", SESSION)

    async def wait_for(self, text: str, *, count: int = 1, timeout: float = WAIT) -> str:
        """Poll the screen until ``text`` appears on it ``count`` times; returns the screen.

        On time-out the assertion message holds the screen and the end of Profanity's log,
        which is usually all one needs to see what happened.
        """
        deadline = time.monotonic() + timeout
        while True:
            screen = await self.screen()
            if screen.count(text) >= count:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"Profanity did not show {text!r} ({count}x) within {timeout} s.\n"
                    f"--- screen ---\n{_trimmed(screen)}\n--- log ---\n{self._log_tail()}"
                )
            await asyncio.sleep(0.2)

    def _log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError as exc:
            return f"(no log: {exc})"

    async def _tmux(self, *args: str, check: bool = True) -> str:
        process = await asyncio.create_subprocess_exec(
            "tmux", "-L", self._socket_name, *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await process.communicate()
        if check and process.returncode != 0:
            raise RuntimeError(
                f"tmux {' '.join(args[:2])} failed ({process.returncode}): {err.decode().strip()}"
            )
        return out.decode(errors="replace")


def _trimmed(screen: str) -> str:
    return "\n".join(line.rstrip() for line in screen.splitlines() if line.strip())
