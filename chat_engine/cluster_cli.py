"""``chat-engine cluster``: start ``chat_engine.cluster.Cluster``, print where everything
is, run until stopped."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from business.model import DEFAULT_QUEUE
from chat_engine.cluster import CLUSTER_ERRORS, Cluster
from chat_engine.dev import C2S_PORT, pick_port
from chat_engine.settings import Settings
from chat_engine.signals import StopSignal

__all__ = ["CLUSTER_ERRORS", "banner", "run_cluster"]


def banner(cluster: Cluster) -> str:
    """What ``chat-engine cluster`` prints once everything runs."""
    assert cluster.ejabberd is not None
    queue_jid = f"{DEFAULT_QUEUE}@{cluster.component_jid}"
    width = max(len(a.jid) for a in cluster.agents)
    lines = [
        "",
        f"Chat engine cluster is running: {cluster.size} engine processes behind HAProxy.",
        "",
        f"  Demo page:    {cluster.url}/demo",
        f"  REST API:     {cluster.url}/api/v1/docs",
        f"  XMPP server:  ejabberd, host {cluster.ejabberd.host}, port "
        f"{cluster.ejabberd.c2s_port} (STARTTLS, self-signed certificate)",
    ]
    for i, agent in enumerate(cluster.agents):
        label = "Agents:" if i == 0 else ""
        lines.append(f"  {label:<13} {agent.jid:<{width}}  password: {agent.password}")
    for i, engine in enumerate(cluster.engines):
        label = "Engines:" if i == 0 else ""
        lines.append(f"  {label:<13} {engine.url}  (log: {engine.log_file})")
    lines += [
        "",
        f"Log in to an XMPP client as an agent, add {queue_jid} as a contact and go online;",
        "then open the demo page and start a chat.",
        f"Everything lives in {cluster.var_dir}.",
        "",
        "Press Ctrl-C to stop.",
        "",
    ]
    return "\n".join(lines)


async def run_cluster(
    settings: Settings,
    *,
    var_dir: Path,
    engines: int,
    out: TextIO,
    stop: StopSignal,
    config_file: Path | None = None,
) -> None:
    """Start the cluster, print the banner and run until ``stop`` fires; then stop it all.
    HAProxy takes ``http.port`` (0: a free one) and ejabberd 5222 for agents if free."""
    notes: list[str] = []
    http_port = pick_port(settings.http.host, settings.http.port, "HTTP", notes)
    c2s_port = pick_port(settings.xmpp.host, C2S_PORT, "XMPP client", notes)
    cluster = Cluster(
        var_dir,
        engines=engines,
        settings=settings,
        config_file=config_file,
        host=settings.http.host,
        http_port=http_port,
        c2s_port=c2s_port,
    )
    async with cluster:
        out.write(banner(cluster) + "".join(f"Note: {note}\n" for note in notes))
        out.flush()
        await stop.wait()
