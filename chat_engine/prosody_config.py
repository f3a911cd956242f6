"""The configuration of the private Prosody (``chat_engine.prosody``): what goes into the
template ``deploy/prosody/dev.cfg.lua`` and how, and the self-signed certificate it names,
so the server class only writes them and runs the server.

Every value becomes a quoted Lua literal (``lua``); the template's ``$name`` placeholders
are filled with ``string.Template``, so a value can never end a string early or add a
line of Lua of its own.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from string import Template

from chat_engine.files import PRIVATE_FILE, private_dir

TEMPLATE = Path(__file__).resolve().parent.parent / "deploy" / "prosody" / "dev.cfg.lua"
"""The configuration template; it lives in the source checkout, where ``dev`` runs."""

WEBSOCKET_PATH = "/xmpp-websocket"
"""Where mod_websocket serves XMPP over WebSocket (RFC 7395): its default path."""


class ProsodyError(RuntimeError):
    """Prosody could not be installed, configured, started or asked to do something.

    The message is meant for the person running the command: it says what failed and,
    where it can, what to do about it.
    """


@dataclass(frozen=True, slots=True, kw_only=True)
class ProsodyConfig:
    """What one Prosody under one base directory is configured with."""

    run_as_root: bool
    data_dir: Path
    pidfile: Path
    certificates_dir: Path
    certificate: Path
    key: Path
    log_level: str
    log_file: Path
    host: str
    """The one (loopback) address every listener binds to."""
    c2s_port: int
    component_port: int
    websocket_port: int | None
    """Prosody's HTTP port, serving only XMPP over WebSocket; None: no HTTP at all."""
    domain: str
    component_jid: str
    component_secret: str


def lua(value: str | int) -> str:
    """``value`` as a Lua literal."""
    if isinstance(value, int):
        return str(value)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def websocket_url(host: str, port: int) -> str:
    """The address browser clients (Converse.js) open for XMPP over WebSocket."""
    shown = f"[{host}]" if ":" in host else host
    return f"ws://{shown}:{port}{WEBSOCKET_PATH}"


def render_config(config: ProsodyConfig, template: str) -> str:
    """The configuration file's text: ``template`` with its placeholders filled.
    ``KeyError`` names a placeholder the template has and this does not fill;
    ``ValueError`` means a ``$`` that is no placeholder."""
    return Template(template).substitute(
        run_as_root="run_as_root = true" if config.run_as_root else "",
        data_path=lua(str(config.data_dir)),
        pidfile=lua(str(config.pidfile)),
        certificates_dir=lua(str(config.certificates_dir)),
        certificate=lua(str(config.certificate)),
        key=lua(str(config.key)),
        log_level=lua(config.log_level),
        log_file=lua(str(config.log_file)),
        host=lua(config.host),
        c2s_port=lua(config.c2s_port),
        component_port=lua(config.component_port),
        domain=lua(config.domain),
        component_jid=lua(config.component_jid),
        component_secret=lua(config.component_secret),
        websocket_module='"websocket";' if config.websocket_port is not None else "",
        websocket=_websocket(config),
        file_share=_file_share(config),
    )


FILE_SHARE_LIMIT = 10 * 1024 * 1024
"""Bytes an agent may upload: the engine's default limit for a file (``FileLimits``)."""


def _file_share(config: ProsodyConfig) -> str:
    if config.websocket_port is None:
        return "-- File sharing (XEP-0363) needs the HTTP listener, which is off."
    # Served on the agents' own domain (not upload.<domain>, which the system resolver
    # may not know), so the engine copies agents' files in: it fetches only from their
    # server's domain (business.files.import_agent_file).
    url = f"http://{config.domain}:{config.websocket_port}/"
    return "\n".join(
        [
            "-- File sharing (XEP-0363) for agents' clients: upload.<domain> hands out slots,",
            "-- the files are served by the HTTP listener above under the agents' domain.",
            f'Component {lua("upload." + config.domain)} "http_file_share"',
            f"\thttp_host = {lua(config.domain)}",
            f"\thttp_external_url = {lua(url)}",
            f"\thttp_file_share_size_limit = {FILE_SHARE_LIMIT}",
            "\thttp_file_share_expires_after = 7 * 24 * 3600",
        ]
    )


def _websocket(config: ProsodyConfig) -> str:
    if config.websocket_port is None:
        # No module needs HTTP, so Prosody opens no HTTP port (not even its default 5280).
        return "-- XMPP over WebSocket is off: no HTTP listener."
    host = lua(config.host)
    return "\n".join(
        [
            "-- XMPP over WebSocket (RFC 7395) for browser clients such as Converse.js, on",
            "-- loopback only and plain HTTP (browsers refuse the self-signed certificate for",
            "-- wss://). The connection never leaves the machine, so it counts as encrypted for",
            "-- c2s_require_encryption. No HTTPS listener: Prosody's default port 5281 would",
            "-- clash between instances. Requests name 127.0.0.1, not the domain, as their",
            "-- host: say which host answers them rather than leave it to Prosody's guess.",
            f"http_ports = {{ {lua(config.websocket_port)} }}",
            f"http_interfaces = {{ {host} }}",
            "https_ports = { }",
            f"https_interfaces = {{ {host} }}",
            f"http_default_host = {lua(config.domain)}",
            "consider_websocket_secure = true",
        ]
    )


def ensure_certificate(domain: str, certificate: Path, key: Path) -> None:
    """A self-signed certificate for ``domain``, its subdomains and localhost, made once
    (``key`` readable by the owner only)."""
    if certificate.exists() and key.exists():
        return
    if not shutil.which("openssl"):
        raise ProsodyError("`openssl` is needed to make a certificate: apt-get install openssl")
    private_dir(certificate.parent)
    names = [domain, f"*.{domain}", "localhost", "*.localhost"]
    san = ",".join(f"DNS:{name}" for name in dict.fromkeys(names))
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-sha256", "-nodes"]
    command += ["-days", "3650", "-subj", f"/CN={domain}"]
    command += ["-addext", f"subjectAltName={san}"]
    command += ["-keyout", str(key), "-out", str(certificate)]
    result = subprocess.run(
        command,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise ProsodyError(
            "openssl could not make a certificate:\n" + result.stderr.decode(errors="replace")
        )
    key.chmod(PRIVATE_FILE)
