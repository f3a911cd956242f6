"""Settings of the database: the ``[database]`` section of the engine's configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

_POSTGRESQL_SCHEMES = ("postgresql", "postgres", "postgresql+asyncpg")
_SQLITE_SCHEMES = ("sqlite", "sqlite+aiosqlite")
_EXPECTED_URL = "a sqlite+aiosqlite:// or postgresql+asyncpg:// URL"


@dataclass(frozen=True, slots=True, kw_only=True)
class DatabaseSettings:
    """Which database and how it is used; what ``Database.from_settings`` takes.

    Invariants (checked at construction, each message starting with the field's name):
    the URL names a supported database; the cache sizes are not negative; the connect
    timeout is positive. Messages never show a password.
    """

    url: str = field(default="sqlite+aiosqlite:///var/chat-engine.db", repr=False)
    """``sqlite+aiosqlite:///path`` (a relative path is taken from the working directory)
    or ``postgresql+asyncpg://user:password@host:5432/db``; ``sqlite://`` and
    ``postgresql://`` mean those drivers."""

    cache_ttl: float = 30.0
    """Seconds a cached tenant, agent or setting may be stale when *other* processes
    write to the same database and their notification is missed (SQLite; PostgreSQL
    while the listening connection is lost: ``data.cache_bus``); this process
    invalidates its own writes. 0 turns caching off."""

    cache_size: int = 10_000
    """Entries each cache holds at most; 0 turns caching off."""

    connect_timeout: float = 10.0
    """Seconds to open a PostgreSQL connection (asyncpg alone waits 60 s): how long a
    request or ``chat-engine run`` waits for an unreachable server before saying so."""

    ping_after_idle: float = 10.0
    """PostgreSQL: a pooled connection unused for this many seconds is pinged before it
    is used, and replaced if the server does not answer (a restart, a firewall that
    dropped it). A busy engine's connections are never idle that long, so the message
    path pays no extra round trip; 0 pings before every use."""

    def __post_init__(self) -> None:
        problem = _url_problem(self.url)
        if problem is not None:
            raise ValueError(f"url: expected {problem}, got {redact_url(self.url)!r}")
        if not self.cache_ttl >= 0:
            raise ValueError(f"cache_ttl must be 0 (no caching) or more, not {self.cache_ttl}")
        if self.cache_size < 0:
            raise ValueError(f"cache_size must be 0 (no caching) or more, not {self.cache_size}")
        if not self.connect_timeout > 0:
            raise ValueError(f"connect_timeout must be positive, not {self.connect_timeout}")
        if not 0 <= self.ping_after_idle < float("inf"):
            raise ValueError(f"ping_after_idle must be 0 or more, not {self.ping_after_idle}")


def _url_problem(url: str) -> str | None:
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in (*_POSTGRESQL_SCHEMES, *_SQLITE_SCHEMES):
        return _EXPECTED_URL
    if scheme in _SQLITE_SCHEMES and not rest.startswith("/"):
        return "a SQLite URL like sqlite+aiosqlite:///var/chat-engine.db"
    return None


def canonical_url(url: str, cwd: Path) -> str:
    """``url`` with its driver spelled out (``postgres://`` becomes
    ``postgresql+asyncpg://``) and a relative SQLite path made absolute against ``cwd``,
    so that a later change of directory changes nothing; ``ValueError`` as for
    ``DatabaseSettings``."""
    problem = _url_problem(url)
    if problem is not None:
        raise ValueError(f"url: expected {problem}, got {redact_url(url)!r}")
    scheme, _, rest = url.partition("://")
    if scheme.lower() in _POSTGRESQL_SCHEMES:
        return f"postgresql+asyncpg://{rest}"
    path, qmark, query = rest[1:].partition("?")
    if path and path != ":memory:" and not path.startswith("file:"):
        path = str((cwd / path).resolve())
    return f"sqlite+aiosqlite:///{path}{qmark}{query}"


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url.partition("://")[0] + "://***"
    if password is None:
        return url
    netloc = parts.netloc.replace(f":{password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None for other databases and in-memory ones)."""
    scheme, _, rest = url.partition("://")
    if not scheme.startswith("sqlite"):
        return None
    path = rest[1:].partition("?")[0]
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return Path(path)
