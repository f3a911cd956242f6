"""The configuration of the private ejabberd (``chat_engine.ejabberd``): ``ejabberd.yml``
from the template ``deploy/ejabberd/dev.yml``, and ``ejabberdctl.cfg``, the shell file
Debian's ``ejabberdctl`` sources, which gives each instance its own Erlang node.

Every value in the YAML is a JSON string or number (JSON is YAML), filled in with
``string.Template``, so a value can never end a string early or add a key of its own.
Values in ``ejabberdctl.cfg`` are checked against a strict pattern before they are
written, since that file is run by a shell.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

TEMPLATE = Path(__file__).resolve().parent.parent / "deploy" / "ejabberd" / "dev.yml"
"""The configuration template; it lives in the source checkout, where ``dev`` runs."""

_SHELL_SAFE = re.compile(r"[A-Za-z0-9@._/+-]+")


class EjabberdError(RuntimeError):
    """ejabberd could not be installed, configured, started or asked to do something.

    The message is meant for the person running the command: it says what failed and,
    where it can, what to do about it.
    """


@dataclass(frozen=True, slots=True, kw_only=True)
class EjabberdConfig:
    """What one ejabberd under one base directory is configured with."""

    certificate: Path
    key: Path
    log_level: str
    host: str
    """The one (loopback) address every listener and the Erlang distribution bind to."""
    c2s_port: int
    component_port: int
    domain: str
    component_jid: str
    component_secret: str
    component_number: int
    """How many component connections ``domain_balancing`` spreads the domain over."""


def render_config(config: EjabberdConfig, template: str) -> str:
    """``ejabberd.yml``'s text: ``template`` with its placeholders filled. ``KeyError``
    names a placeholder the template has and this does not fill."""
    return Template(template).substitute(
        certificate=json.dumps(str(config.certificate)),
        key=json.dumps(str(config.key)),
        log_level=json.dumps(config.log_level),
        host=json.dumps(config.host),
        c2s_port=int(config.c2s_port),
        component_port=int(config.component_port),
        domain=json.dumps(config.domain),
        component_jid=json.dumps(config.component_jid),
        component_secret=json.dumps(config.component_secret),
        domain_balancing=_domain_balancing(config),
    )


def _domain_balancing(config: EjabberdConfig) -> str:
    if config.component_number == 1:
        # 23.01 accepts component_number only from 2 on: one process, no balancing.
        return "# One engine process: one component connection, no domain_balancing."
    return "\n".join(
        [
            "# Several engine processes hold one connection each to the same component",
            "# domain. A stanza goes to the connection chosen by its bare destination JID",
            "# (c-<id>@, <queue>@), so one conversation's traffic stays on one connection.",
            "# On 23.01 component_number must be given (or every component handshake",
            "# crashes) and must equal the number of engine processes: it makes that many",
            "# slots, each connection takes a free one, and what hashes to an empty slot is",
            "# dropped without an error (xmpp.standby_links: survivors take a free slot).",
            "domain_balancing:",
            f"  {json.dumps(config.component_jid)}:",
            "    type: bare_destination",
            f"    component_number: {int(config.component_number)}",
        ]
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeConfig:
    """The Erlang node of one instance: its name and the one port it is reached on."""

    node: str
    """``name@localhost``: unique per instance, so two never mistake each other."""
    dist_port: int
    """The distribution port. With ``ERL_DIST_PORT`` set, ejabberdctl starts no epmd and
    registers with none: the server listens on this port, and the ``ejabberdctl``
    commands reach it there, so instances share nothing with each other or with other
    Erlang programs (RabbitMQ's epmd, say)."""
    host: str
    pidfile: Path


def render_ctl_config(config: NodeConfig) -> str:
    """``ejabberdctl.cfg``'s text (a shell file: every value is checked)."""
    values = {
        "ERLANG_NODE": config.node,
        "ERL_DIST_PORT": str(config.dist_port),
        "INET_DIST_INTERFACE": config.host,
        "ERL_EPMD_ADDRESS": config.host,
        "EJABBERD_PID_PATH": str(config.pidfile),
        "EJABBERD_BYPASS_WARNINGS": "true",
        # Debian's ejabberdctl switches to the `ejabberd` user when run as root, and that
        # user cannot enter our private directory: run as whoever runs us. The script
        # sources this file after choosing, so the choice can be overridden here.
        "EXEC_CMD": "as_current_user",
        # Erlang's own defaults, without Debian's crash dumps under /var/log.
        "ERL_OPTIONS": "-env ERL_CRASH_DUMP_BYTES 0",
    }
    lines = ["# Written by chat_engine/ejabberd.py; sourced by ejabberdctl."]
    for name, value in values.items():
        if name != "ERL_OPTIONS" and not _SHELL_SAFE.fullmatch(value):
            raise ValueError(f"{name} {value!r} has characters a shell would interpret")
        lines.append(f'{name}="{value}"')
    return "\n".join(lines) + "\n"


INETRC = '{lookup, ["file", "native"]}.\n{host, {127,0,0,1}, ["localhost"]}.\n'
"""Erlang's resolver configuration: the node name's ``localhost`` resolves from here."""
