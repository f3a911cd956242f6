"""``chat-engine dev``: the whole embedded set-up on one machine, for trying it out.

A private Prosody under ``var/prosody`` runs as our child; two demo agents get accounts
and join queue ``support``; the engine uses SQLite in ``var/``. What is generated
(component secret, agent passwords, certificate, accounts, database) is kept in ``var/``
and reused, so a second run comes back the same and agents' clients keep working. All of
it is readable by its owner only (see ``chat_engine.files``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import presentation
from business.commands import AddAgent
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT
from chat_engine.admin import add_agents
from chat_engine.demo_widget import ensure_demo_widget
from chat_engine.engine import Engine
from chat_engine.files import make_private, new_private_dir, write_private
from chat_engine.gc_tuning import tune_gc
from chat_engine.local_ports import free_port, port_is_free
from chat_engine.prosody import ProsodyServer
from chat_engine.prosody_leftovers import stop_leftover
from chat_engine.settings import Settings, load_settings
from chat_engine.signals import StopSignal
from data.settings import sqlite_path
from xmpp_bridge.settings import MIN_SECRET_LENGTH

logger = logging.getLogger(__name__)

DEMO_AGENTS = {"agent1": "Alex", "agent2": "Sam"}
"""Demo accounts and the names visitors see (\"Chatting with Alex\")."""
DEMO_MAX_CHATS = 3
C2S_PORT = 5222
WEBSOCKET_PORT = 5280
"""Prosody's usual HTTP port; here it serves only XMPP over WebSocket (browser clients)."""
XMPP_CONNECT_SECONDS = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoAgent:
    jid: str
    password: str


def read_or_create_secret(path: Path) -> str:
    """A random secret kept in ``path`` (readable by the owner only); one too short for
    today's rule, kept by an older version, is replaced (Prosody's configuration is
    written anew on every start, so both ends change together)."""
    try:
        secret = path.read_text().strip()
    except FileNotFoundError:
        secret = ""
    if len(secret) < MIN_SECRET_LENGTH:
        secret = secrets.token_urlsafe(32)  # 43 characters
        write_private(path, secret + "\n")
    return secret


def read_or_create_demo_agents(path: Path, domain: str) -> list[DemoAgent]:
    """The demo agents' accounts; passwords are made once and reused on later runs."""
    try:
        stored = json.loads(path.read_text())
        passwords = {str(jid): str(pw) for jid, pw in stored.get("passwords", {}).items()}
    except (FileNotFoundError, ValueError, AttributeError):
        passwords = {}
    agents = []
    for user in DEMO_AGENTS:
        jid = f"{user}@{domain}"
        password = passwords.get(jid) or secrets.token_urlsafe(12)
        passwords[jid] = password
        agents.append(DemoAgent(jid=jid, password=password))
    write_private(path, json.dumps({"passwords": passwords}, indent=2) + "\n")
    return agents


def pick_port(
    host: str, wanted: int, what: str, notes: list[str], previous: int | None = None
) -> int:
    """``wanted`` if it is free, else ``previous`` (the port an earlier run used instead)
    if that is free, else any free port; a note says when it is not ``wanted``."""
    if wanted == 0:
        return free_port(host)
    if port_is_free(host, wanted):
        return wanted
    if previous and previous != wanted and port_is_free(host, previous):
        port = previous
    else:
        port = free_port(host)
    notes.append(f"{what} port {wanted} is in use on {host}; using {port} instead.")
    return port


def _read_ports(path: Path) -> dict[str, int]:
    try:
        stored = json.loads(path.read_text())
        return {str(what): int(port) for what, port in stored.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def xmpp_domain(component_jid: str) -> str:
    """The agents' domain: ``chat.localhost`` serves ``localhost``."""
    _, dot, parent = component_jid.partition(".")
    return parent if dot and parent else "localhost"


def banner(
    engine_url: str,
    agents: Sequence[DemoAgent],
    prosody: ProsodyServer,
    notes: Sequence[str],
    widget_built: bool,
) -> str:
    queue_jid = f"{DEFAULT_QUEUE}@{prosody.component_jid}"
    width = max(len(a.jid) for a in agents)
    lines = [
        "",
        "Chat engine is running.",
        "",
        f"  Demo page:    {engine_url}/demo",
        f"  REST API:     {engine_url}/api/v1/docs (keys: chat-engine apikey create)",
        f"  XMPP server:  host {prosody.host}, port {prosody.c2s_port} "
        "(STARTTLS, self-signed certificate)",
    ]
    if prosody.websocket_url is not None:
        lines.append(f"  WebSocket:    {prosody.websocket_url} (browser clients: Converse.js)")
    for i, agent in enumerate(agents):
        label = "Agents:" if i == 0 else ""
        lines.append(f"  {label:<13} {agent.jid:<{width}}  password: {agent.password}")
    lines += [
        "",
        f"Log in to an XMPP client as an agent, add {queue_jid} as a contact and go online;",
        "then open the demo page and start a chat.",
    ]
    if not widget_built:
        lines += ["", "Note: the widget is not built yet; run `make setup` for the demo page."]
    lines += [f"Note: {note}" for note in notes]
    lines += ["", "Press Ctrl-C to stop.", ""]
    return "\n".join(lines)


def widget_built() -> bool:
    dist = Path(presentation.__file__).parent / "widget" / "dist"
    return dist.is_dir() and any(dist.iterdir())


@dataclass(frozen=True, slots=True, kw_only=True)
class _Plan:
    settings: Settings
    prosody: ProsodyServer
    agents: list[DemoAgent]
    notes: list[str]
    widget_built: bool


def _plan(
    settings: Settings, var_dir: Path, c2s_port: int, websocket_port: int = WEBSOCKET_PORT
) -> _Plan:
    """Everything that only touches files and ports (blocking, so run in a thread)."""
    var_dir = new_private_dir(var_dir.resolve())
    prosody_dir = var_dir / "prosody"
    # A Prosody orphaned by a killed earlier run would make every port look taken.
    stop_leftover(prosody_dir)
    xmpp, http = settings.xmpp, settings.http
    notes: list[str] = []
    secret = xmpp.secret or read_or_create_secret(var_dir / "xmpp-secret")
    # Agents' clients keep the XMPP port they were told: when a usual port is taken,
    # come back on the substitute of the previous run rather than on a new random one.
    ports_file = var_dir / "ports.json"
    previous = _read_ports(ports_file)
    c2s_port = pick_port(xmpp.host, c2s_port, "XMPP client", notes, previous.get("c2s"))
    component_port = pick_port(
        xmpp.host, xmpp.port, "XMPP component", notes, previous.get("component")
    )
    websocket_port = pick_port(
        xmpp.host, websocket_port, "XMPP WebSocket", notes, previous.get("websocket")
    )
    http_port = pick_port(http.host, http.port, "HTTP", notes, previous.get("http"))
    ports = {
        "c2s": c2s_port,
        "component": component_port,
        "websocket": websocket_port,
        "http": http_port,
    }
    write_private(ports_file, json.dumps(ports, indent=2) + "\n")
    domain = xmpp_domain(xmpp.component_jid)
    prosody = ProsodyServer(
        prosody_dir,
        domain=domain,
        component_jid=xmpp.component_jid,
        component_secret=secret,
        c2s_port=c2s_port,
        component_port=component_port,
        websocket_port=websocket_port,
        host=xmpp.host,
    )
    database = settings.database
    if database.url == load_settings(None, {}, {}).database.url:
        # Left at the built-in default (./var): the database belongs with the rest of
        # what dev keeps, so --var-dir moves it too.
        database = dataclasses.replace(
            database, url=f"sqlite+aiosqlite:///{var_dir / 'chat-engine.db'}"
        )
    path = sqlite_path(database.url)
    if path is not None and path.parent == var_dir:
        # Made before files under var/ were private: narrow them now. (A new database
        # is made private by data.Database.)
        for suffix in ("", "-wal", "-shm", "-journal"):
            make_private(path.with_name(path.name + suffix))
    return _Plan(
        settings=dataclasses.replace(
            settings,
            xmpp=dataclasses.replace(xmpp, secret=secret, port=component_port),
            http=dataclasses.replace(http, port=http_port),
            database=database,
            # Trying webhooks out means a receiver on this machine.
            webhooks=dataclasses.replace(settings.webhooks, allow_private_targets=True),
        ),
        prosody=prosody,
        agents=read_or_create_demo_agents(var_dir / "demo-agents.json", domain),
        notes=notes,
        widget_built=widget_built(),
    )


async def run_dev(
    settings: Settings,
    *,
    var_dir: Path,
    out: TextIO,
    stop: StopSignal,
    c2s_port: int = C2S_PORT,
    websocket_port: int = WEBSOCKET_PORT,
) -> None:
    """Set up and run everything until ``stop`` fires, then stop it all."""
    plan = await asyncio.to_thread(_plan, settings, var_dir, c2s_port, websocket_port)
    prosody = plan.prosody
    await asyncio.to_thread(ProsodyServer.ensure_installed)
    await prosody.astart()
    try:
        for agent in plan.agents:
            await prosody.aregister(agent.jid.partition("@")[0], agent.password)
        # Before the engine starts, so the bridge knows them from its first presence.
        await add_agents(
            plan.settings,
            [
                AddAgent(
                    address=agent.jid,
                    queues=(DEFAULT_QUEUE,),
                    max_chats=DEMO_MAX_CHATS,
                    tenant_id=DEFAULT_TENANT,
                    name=DEMO_AGENTS[agent.jid.partition("@")[0]],
                )
                for agent in plan.agents
            ],
        )
        await ensure_demo_widget(plan.settings)
        engine = Engine(plan.settings)
        await engine.start()
        runtime = plan.settings.runtime
        tune_gc(freeze=runtime.gc_freeze, threshold=runtime.gc_threshold)
        try:
            assert engine.url is not None
            notes = list(plan.notes)
            try:
                # The banner invites agents to log in: say so only once that can work.
                await engine.bridge.wait_connected(XMPP_CONNECT_SECONDS)
            except TimeoutError:
                notes.append(
                    f"the engine's XMPP component is not connected to Prosody after "
                    f"{XMPP_CONNECT_SECONDS:g} s; it keeps trying (see the log above)."
                )
            text = banner(engine.url, plan.agents, prosody, notes, plan.widget_built)
            out.write(text)
            out.flush()
            await stop.wait()
        finally:
            await engine.stop()
    finally:
        await prosody.astop()
