"""``chat-engine cluster`` (``make cluster``): the scale-out set-up on one machine, and
the rig the cluster tests and benchmarks drive.

Under ``var_dir`` (``var/cluster``) it starts, each as our child on free loopback ports:
a private PostgreSQL (``chat_engine.private_postgres``), an authenticated Redis
(``chat_engine.private_redis``), an ejabberd with one component slot per engine
(``chat_engine.ejabberd``), N engine processes (``chat-engine run``, each on its own
HTTP port, all on the same database, Redis and component domain) and HAProxy in front of
them (``chat_engine.haproxy``). Demo agents get ejabberd accounts and join queue
``support``, as with ``chat-engine dev``; the component secret and the agents'
passwords are kept in ``var_dir`` and reused.

The engines are configured through the environment (``CHAT_ENGINE_*``, secrets as
``*_FILE``), over the config file given to the cluster, if any.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import secrets
import signal
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from types import TracebackType
from typing import Self

from business.commands import AddAgent
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT
from chat_engine.admin import add_agents
from chat_engine.cluster_engines import (
    ClusterError,
    EngineProcess,
)
from chat_engine.demo_widget import ensure_demo_widget
from chat_engine.dev import (
    DEMO_AGENTS,
    DEMO_MAX_CHATS,
    DemoAgent,
    read_or_create_demo_agents,
    read_or_create_secret,
    xmpp_domain,
)
from chat_engine.ejabberd import EjabberdError, EjabberdServer
from chat_engine.files import new_private_dir, write_private
from chat_engine.haproxy import Backend, Haproxy, HaproxyError
from chat_engine.local_ports import free_port
from chat_engine.private_postgres import PostgresError, PrivatePostgres
from chat_engine.private_redis import PrivateRedis, RedisError
from chat_engine.settings import CONFIG_ENV, ENV_PREFIX, Settings, env_name, load_settings

logger = logging.getLogger(__name__)

CLUSTER_ERRORS = (ClusterError, PostgresError, RedisError, HaproxyError, EjabberdError)
"""What ``chat-engine cluster`` reports in one line instead of a traceback."""


class Cluster:
    """The whole local cluster; ``async with Cluster(...)`` starts and stops it.

    ``engines[i]`` (0-based) may be killed, stopped and started again while the rest
    runs: that is what the node-loss and rolling-restart tests do.
    """

    def __init__(
        self,
        var_dir: Path,
        *,
        engines: int = 3,
        settings: Settings | None = None,
        config_file: Path | None = None,
        host: str = "127.0.0.1",
        http_port: int = 0,
        c2s_port: int = 0,
        drain_seconds: float | None = None,
    ) -> None:
        """``http_port`` is HAProxy's and ``c2s_port`` ejabberd's port for agents' clients
        (0: a free one). ``settings`` gives the component's JID, the log level and the
        domain of the demo agents; ``config_file`` is passed to every engine (the cluster's
        own settings override it). ``drain_seconds`` sets the engines' drain on SIGTERM."""
        if engines < 1:
            raise ValueError("a cluster needs at least one engine")
        self.var_dir = var_dir.resolve()
        self.size = engines
        self.host = host
        self.http_port = http_port or free_port(host)
        self.c2s_port = c2s_port or free_port(host)
        self.settings = settings
        self.config_file = config_file
        self.drain_seconds = drain_seconds
        component_jid = settings.xmpp.component_jid if settings else "chat.localhost"
        self.component_jid = component_jid
        self.domain = xmpp_domain(component_jid)
        self.agents: list[DemoAgent] = []
        self.engines: list[EngineProcess] = []
        self.postgres: PrivatePostgres | None = None
        self.redis: PrivateRedis | None = None
        self.ejabberd: EjabberdServer | None = None
        self.haproxy: Haproxy | None = None
        self._stack: AsyncExitStack | None = None

    # -- what users of the rig read ---------------------------------------------------

    @property
    def url(self) -> str:
        """HAProxy's URL: where visitors (and the demo page, ``/demo``) go."""
        return f"http://{self.host}:{self.http_port}"

    @property
    def engine_urls(self) -> list[str]:
        return [engine.url for engine in self.engines]

    @property
    def database_url(self) -> str:
        assert self.postgres is not None, "start the cluster first"
        return self.postgres.url

    @property
    def redis_url(self) -> str:
        assert self.redis is not None, "start the cluster first"
        return self.redis.url

    @property
    def pids(self) -> dict[str, int]:
        """Every running child's pid by name (also in ``var_dir/pids.json``)."""
        found: dict[str, int | None] = {
            "postgres": self.postgres.pid if self.postgres else None,
            "redis": self.redis.pid if self.redis else None,
            "ejabberd": self.ejabberd.pid if self.ejabberd else None,
            "haproxy": self.haproxy.pid if self.haproxy else None,
        }
        found.update((engine.name, engine.pid) for engine in self.engines)
        return {name: pid for name, pid in found.items() if pid is not None}

    # -- life cycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Start everything; on a failure, stop what was started and raise."""
        new_private_dir(self.var_dir)
        async with AsyncExitStack() as stack:
            self.postgres = PrivatePostgres(self.var_dir / "postgres", host=self.host)
            stack.push_async_callback(self.postgres.close)
            await self.postgres.start()
            self.redis = PrivateRedis(self.var_dir / "redis", host=self.host)
            stack.push_async_callback(self.redis.close)
            await self.redis.start()
            secret = read_or_create_secret(self.var_dir / "xmpp-secret")
            self.ejabberd = EjabberdServer(
                self.var_dir / "ejabberd",
                domain=self.domain,
                component_jid=self.component_jid,
                component_secret=secret,
                c2s_port=self.c2s_port,
                component_port=free_port(self.host),
                component_number=self.size,
                host=self.host,
            )
            stack.push_async_callback(self.ejabberd.astop)
            await self.ejabberd.astart()
            self.agents = read_or_create_demo_agents(self.var_dir / "demo-agents.json", self.domain)
            for agent in self.agents:
                await self.ejabberd.aregister(agent.jid.partition("@")[0], agent.password)
            await self._prepare_database()
            env = self._engine_env()
            self.engines = []
            for n in range(1, self.size + 1):
                port = free_port(self.host)
                engine_env = {**env, env_name("http.port"): str(port)}
                log_file = self.var_dir / f"engine{n}.log"
                self.engines.append(EngineProcess(n, self.host, port, engine_env, log_file))
            stack.push_async_callback(self._stop_engines)
            # All of them before any agent logs in: ejabberd drops what hashes to an empty
            # component slot.
            await asyncio.gather(*(engine.start() for engine in self.engines))
            self.haproxy = Haproxy(
                self.var_dir / "haproxy",
                [Backend(e.name, e.host, e.port) for e in self.engines],
                host=self.host,
                port=self.http_port,
            )
            stack.push_async_callback(self.haproxy.stop)
            await self.haproxy.start()
            self._write_pids()
            self._stack = stack.pop_all()

    async def stop(self) -> None:
        """Stop everything that runs, HAProxy first and PostgreSQL last."""
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()
        with contextlib.suppress(FileNotFoundError):
            (self.var_dir / "pids.json").unlink()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- one engine -------------------------------------------------------------------

    async def kill(self, i: int) -> None:
        """SIGKILL to engine ``i`` (0-based): a crash, nothing handed over."""
        await self.engines[i].stop(signal.SIGKILL)
        self._write_pids()

    async def stop_engine(self, i: int, *, drain: bool = True) -> int | None:
        """Stop engine ``i``: SIGTERM (it drains, as under a service manager) or, without
        ``drain``, SIGINT; returns its exit code."""
        code = await self.engines[i].stop(signal.SIGTERM if drain else signal.SIGINT)
        self._write_pids()
        return code

    async def start_engine(self, i: int) -> None:
        """Start engine ``i`` again on its port; returns once it is healthy (HAProxy
        sends it visitors again after its next two good checks, about 4 s)."""
        await self.engines[i].start()
        self._write_pids()

    async def restart(self, i: int, *, drain: bool = True) -> None:
        """``stop_engine(i)`` then ``start_engine(i)``: one step of a rolling restart."""
        await self.stop_engine(i, drain=drain)
        await self.start_engine(i)

    # -- internals --------------------------------------------------------------------

    async def add_agents(
        self, agents: Sequence[tuple[str, str]], *, max_chats: int, auto_accept: bool = True
    ) -> list[DemoAgent]:
        """New agents, each ``(user, name)``: an account on the cluster's ejabberd (a
        random password) and an agent in queue ``support``."""
        assert self.ejabberd is not None
        made = []
        for user, _name in agents:
            password = secrets.token_urlsafe(12)
            made.append(
                DemoAgent(jid=await self.ejabberd.aregister(user, password), password=password)
            )
        await add_agents(
            self._admin_settings(),
            [
                AddAgent(
                    address=agent.jid,
                    queues=(DEFAULT_QUEUE,),
                    max_chats=max_chats,
                    tenant_id=DEFAULT_TENANT,
                    name=name,
                    auto_accept=auto_accept,
                )
                for agent, (_user, name) in zip(made, agents, strict=True)
            ],
        )
        return made

    def _admin_settings(self) -> Settings:
        assert self.postgres is not None
        base = self.settings or load_settings(None, {}, {})
        return dataclasses.replace(
            base, database=dataclasses.replace(base.database, url=self.postgres.url)
        )

    async def _prepare_database(self) -> None:
        """Migrate, add the demo agents and the demo widget, before any engine starts
        (so the bridges know the agents from their first presence)."""
        settings = self._admin_settings()
        await add_agents(
            settings,
            [
                AddAgent(
                    address=agent.jid,
                    queues=(DEFAULT_QUEUE,),
                    max_chats=DEMO_MAX_CHATS,
                    tenant_id=DEFAULT_TENANT,
                    name=DEMO_AGENTS[agent.jid.partition("@")[0]],
                )
                for agent in self.agents
            ],
        )
        await ensure_demo_widget(settings)

    def _engine_env(self) -> dict[str, str]:
        """The engines' settings: ours over the config file's (the environment wins), and
        none of our own environment's, which could clash with them."""
        assert self.postgres is not None
        assert self.redis is not None
        assert self.ejabberd is not None
        redis_file = self.var_dir / "redis-url"
        write_private(redis_file, self.redis.url + "\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
        if self.config_file is not None:
            env[CONFIG_ENV] = str(self.config_file.resolve())
        values = {
            "http.host": self.host,
            "http.public_url": self.url,
            "http.trust_forwarded_for": "true",
            "database.url": self.postgres.url,  # trust on loopback: no password in it
            "xmpp.host": self.ejabberd.host,
            "xmpp.port": str(self.ejabberd.component_port),
            "xmpp.component_jid": self.component_jid,
            "webhooks.allow_private_targets": "true",
        }
        if self.size > 1:
            # A killed engine's component slot is taken by a survivor's stand-in
            # connection; without it, ejabberd drops what hashes to that slot.
            values["xmpp.standby_links"] = "true"
        if self.drain_seconds is not None:
            values["http.drain_seconds"] = str(self.drain_seconds)
        if self.settings is not None:
            values["log.level"] = self.settings.log.level
            values["log.json"] = "true" if self.settings.log.json else "false"
        env.update((env_name(key), value) for key, value in values.items())
        env[env_name("http.redis_url") + "_FILE"] = str(redis_file)
        env[env_name("xmpp.secret") + "_FILE"] = str(self.var_dir / "xmpp-secret")
        return env

    async def _stop_engines(self) -> None:
        await asyncio.gather(*(engine.stop() for engine in self.engines))

    def _write_pids(self) -> None:
        write_private(self.var_dir / "pids.json", json.dumps(self.pids, indent=2) + "\n")
