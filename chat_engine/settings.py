"""Settings: frozen dataclasses filled from defaults < TOML file < environment < flags.

Every key is ``<section>.<name>``: ``[xmpp] port = 5347`` in the file,
``CHAT_ENGINE_XMPP_PORT=5347`` in the environment, ``{"xmpp.port": 5347}`` from the CLI.
Secrets (``xmpp.secret``, ``database.url``, ``socketio.redis_url``) may instead name a file
to read: ``secret_file = "/path"`` in the file, ``CHAT_ENGINE_XMPP_SECRET_FILE`` in the
environment; that keeps them out of ``ps`` and of configuration kept in version control.

Everything is checked at load time, so a bad value stops the process at start-up with a
message naming the key and where the value came from, not later inside a request.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import types
import typing
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ENV_PREFIX = "CHAT_ENGINE_"
CONFIG_ENV = "CHAT_ENGINE_CONFIG"
"""Names the TOML file when ``--config`` is not given (read by the CLI)."""

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_DOMAIN_RE = re.compile(
    r"(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*"
)
_SECRET_KEYS = frozenset({"xmpp.secret", "database.url", "socketio.redis_url"})


class SettingsError(ValueError):
    """A setting is unknown, malformed or out of range; the message starts with its key."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    """0 binds any free port (tests); the engine reports the one it got."""
    public_url: str | None = None
    """How browsers reach the engine (behind a proxy, say); default: the bound address."""
    cors_allowed_origins: tuple[str, ...] = ()
    """Sites that may embed the widget; empty means only the engine's own origin."""
    widget_title: str = "Chat with us"
    max_http_buffer_size: int = 1_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class DatabaseSettings:
    url: str = field(default="sqlite+aiosqlite:///var/chat-engine.db", repr=False)
    """SQLAlchemy URL; a relative SQLite path is taken from the working directory."""


@dataclass(frozen=True, slots=True, kw_only=True)
class XmppSettings:
    component_jid: str = "chat.localhost"
    secret: str | None = field(default=None, repr=False)
    """The component's shared secret; required by ``run`` (``dev`` makes its own)."""
    host: str = "127.0.0.1"
    port: int = 5347
    away_is_ready: bool = False
    reconnect_min_delay: float = 1.0
    reconnect_max_delay: float = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class LimitsSettings:
    max_text_length: int = 4000
    max_sync_events: int = 500
    max_form_fields: int = 20
    max_custom_fields: int = 50
    max_field_length: int = 2000


@dataclass(frozen=True, slots=True, kw_only=True)
class LogSettings:
    level: str = "INFO"
    json: bool = False
    """One JSON object per line, for log collectors."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SocketIoSettings:
    redis_url: str | None = field(default=None, repr=False)
    """Message queue shared by several engine processes; None for a single process."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    http: HttpSettings = field(default_factory=HttpSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    xmpp: XmppSettings = field(default_factory=XmppSettings)
    limits: LimitsSettings = field(default_factory=LimitsSettings)
    log: LogSettings = field(default_factory=LogSettings)
    socketio: SocketIoSettings = field(default_factory=SocketIoSettings)


def _sections() -> dict[str, type[Any]]:
    hints = typing.get_type_hints(Settings)
    return {f.name: hints[f.name] for f in dataclasses.fields(Settings)}


def _keys() -> dict[str, Any]:
    """``section.name`` -> the field's type."""
    keys: dict[str, Any] = {}
    for section, cls in _sections().items():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            keys[f"{section}.{f.name}"] = hints[f.name]
    return keys


KEYS: Mapping[str, Any] = _keys()


def env_name(key: str) -> str:
    return ENV_PREFIX + key.replace(".", "_").upper()


# -- loading -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Raw:
    value: object
    source: str
    from_text: bool
    """The value is text to parse (environment), not a typed TOML or Python value."""
    secret_file: Path | None = None
    """Read the value from this file, once this layer has won: a file named by a layer
    that a later one overrides need not exist or be readable."""


def load_settings(
    config_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, object] | None = None,
    *,
    cwd: Path | None = None,
    unused_secrets: Collection[str] = (),
) -> Settings:
    """Merge the layers and check every value; raises ``SettingsError``.

    ``overrides`` are the CLI flags by key (``{"http.port": 8081}``); a None value means
    the flag was not given. The secret files of ``unused_secrets`` are not read (those
    settings are then None): a command that does not need the component secret must not
    fail because this user may not read its file.
    """
    raw: dict[str, _Raw] = {}
    if config_file is not None:
        raw.update(_from_toml(config_file))
    raw.update(_from_env(env or {}))
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key not in KEYS:
            raise SettingsError(f"{key}: unknown setting")
        # Flags arrive as text from argparse, or typed from code that calls us.
        raw[key] = _Raw(value, "command line", from_text=isinstance(value, str))

    cwd = cwd or Path.cwd()
    # The default SQLite path is relative too, and must not depend on a later chdir.
    raw.setdefault("database.url", _Raw(DatabaseSettings().url, "default", from_text=False))
    values: dict[str, dict[str, object]] = {section: {} for section in _sections()}
    for key, item in raw.items():
        section, name = key.split(".", 1)
        if key in unused_secrets and item.secret_file is not None:
            values[section][name] = None
            continue
        values[section][name] = _check(key, _read_secret(key, item), cwd)
    sections = {section: cls(**values[section]) for section, cls in _sections().items()}
    settings = Settings(**sections)
    _check_together(settings)
    return settings


def _from_toml(path: Path) -> dict[str, _Raw]:
    try:
        with path.open("rb") as f:
            document = tomllib.load(f)
    except FileNotFoundError:
        raise SettingsError(f"config file {path}: not found") from None
    except OSError as exc:
        raise SettingsError(f"config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path}: {exc}") from None
    source = str(path)
    sections = _sections()
    raw: dict[str, _Raw] = {}
    for section, table in document.items():
        if section not in sections:
            raise SettingsError(
                f"{section}: unknown section in {source} (known: {', '.join(sections)})"
            )
        if not isinstance(table, dict):
            raise SettingsError(f"{section}: expected a table [{section}] in {source}")
        for name, value in table.items():
            key = f"{section}.{name}"
            if name.endswith("_file") and f"{section}.{name[:-5]}" in _SECRET_KEYS:
                secret_key = f"{section}.{name[:-5]}"
                if secret_key in raw:
                    raise SettingsError(f"{secret_key}: set {name[:-5]} or {name}, not both")
                if not isinstance(value, str):
                    raise SettingsError(f"{key}: expected a file name, got {value!r}")
                raw[secret_key] = _Raw(None, f"{key} in {source}", True, Path(value))
                continue
            if key not in KEYS:
                raise SettingsError(f"{key}: unknown setting in {source}")
            if key in raw:
                raise SettingsError(f"{key}: set {name} or {name}_file, not both")
            raw[key] = _Raw(value, source, from_text=False)
    return raw


def _from_env(env: Mapping[str, str]) -> dict[str, _Raw]:
    raw: dict[str, _Raw] = {}
    for var in sorted(env):
        if not var.startswith(ENV_PREFIX) or var == CONFIG_ENV:
            continue
        section, _, name = var[len(ENV_PREFIX) :].lower().partition("_")
        key = f"{section}.{name}"
        if name.endswith("_file") and key[:-5] in _SECRET_KEYS:
            secret_key = key[:-5]
            if env_name(secret_key) in env:
                raise SettingsError(f"{secret_key}: set {env_name(secret_key)} or {var}, not both")
            raw[secret_key] = _Raw(None, var, True, Path(env[var]))
        elif key in KEYS:
            raw[key] = _Raw(env[var], var, from_text=True)
        else:
            # A typo would otherwise be ignored silently, and the default used instead.
            raise SettingsError(f"{var}: unknown setting")
    return raw


def _read_secret(key: str, item: _Raw) -> _Raw:
    path = item.secret_file
    if path is None:
        return item
    try:
        value = path.read_text().strip()
    except OSError as exc:
        raise SettingsError(f"{key}: cannot read {path} ({item.source}): {exc.strerror}") from None
    if not value:
        raise SettingsError(f"{key}: {path} ({item.source}) is empty")
    return _Raw(value, f"{item.source} {path}", from_text=True)


# -- checking ------------------------------------------------------------------------


def _check(key: str, item: _Raw, cwd: Path) -> object:
    typ = KEYS[key]
    shown = repr(item.value)
    if key in _SECRET_KEYS:
        is_url = isinstance(item.value, str) and "://" in item.value
        shown = repr(redact_url(item.value)) if is_url else "'***'"  # type: ignore[arg-type]
    where = f" (from {item.source})"

    def fail(expected: str) -> SettingsError:
        return SettingsError(f"{key}: expected {expected}, got {shown}{where}")

    optional = False
    if typing.get_origin(typ) in (typing.Union, types.UnionType):
        optional = True
        (typ,) = (arg for arg in typing.get_args(typ) if arg is not type(None))
    value = item.value
    if optional and (value is None or (item.from_text and value == "")):
        return None
    coerced: object
    if typ is bool:
        coerced = _to_bool(value, item.from_text)
        if coerced is None:
            raise fail("true or false")
    elif typ is int:
        coerced = _to_int(value, item.from_text)
        if coerced is None:
            raise fail(_int_range_text(key))
    elif typ is float:
        coerced = _to_float(value, item.from_text)
        if coerced is None:
            raise fail("a number")
    elif typ is str:
        if not isinstance(value, str):
            raise fail("a string")
        coerced = value.strip()
    elif typing.get_origin(typ) is tuple:
        if isinstance(value, str) and item.from_text:
            coerced = tuple(part.strip() for part in value.split(",") if part.strip())
        elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            coerced = tuple(v.strip() for v in value)
        else:
            raise fail("a list of strings")
    else:  # pragma: no cover - a new field type needs a branch above
        raise AssertionError(f"no parser for {key}: {typ}")

    check = _CHECKS.get(key)
    if check is not None:
        problem, fixed = check(coerced, cwd)
        if problem is not None:
            raise fail(problem)
        coerced = fixed
    return coerced


def _to_bool(value: object, from_text: bool) -> bool | None:
    if isinstance(value, bool):
        return value
    if from_text and isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
    return None


def _to_int(value: object, from_text: bool) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if from_text and isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _to_float(value: object, from_text: bool) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if from_text and isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


_Check = typing.Callable[[Any, Path], tuple[str | None, object]]

_INT_RANGES: dict[str, tuple[int, int]] = {
    "http.port": (0, 65535),
    "xmpp.port": (1, 65535),
    "http.max_http_buffer_size": (1024, 1 << 30),
    "limits.max_text_length": (1, 1_000_000),
    "limits.max_sync_events": (1, 100_000),
    "limits.max_form_fields": (0, 1000),
    "limits.max_custom_fields": (0, 1000),
    "limits.max_field_length": (1, 1_000_000),
}


def _int_range_text(key: str) -> str:
    low, high = _INT_RANGES.get(key, (None, None))
    return "an integer" if low is None else f"an integer between {low} and {high}"


def _int_range(key: str) -> _Check:
    low, high = _INT_RANGES[key]

    def check(value: int, cwd: Path) -> tuple[str | None, object]:
        if low <= value <= high:
            return None, value
        return _int_range_text(key), value

    return check


def _positive(value: float, cwd: Path) -> tuple[str | None, object]:
    return (None, value) if value > 0 else ("a number greater than 0", value)


def _non_empty(value: str, cwd: Path) -> tuple[str | None, object]:
    return (None, value) if value else ("a non-empty string", value)


def _domain(value: str, cwd: Path) -> tuple[str | None, object]:
    lowered = value.lower()
    return (None, lowered) if _DOMAIN_RE.fullmatch(lowered) else ("a domain name", value)


def _log_level(value: str, cwd: Path) -> tuple[str | None, object]:
    upper = value.upper()
    return (None, upper) if upper in LOG_LEVELS else (f"one of {', '.join(LOG_LEVELS)}", value)


def _http_url(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return value.rstrip("/")


def _public_url(value: str, cwd: Path) -> tuple[str | None, object]:
    url = _http_url(value)
    return (None, url) if url else ("an http:// or https:// URL", value)


def _origins(value: tuple[str, ...], cwd: Path) -> tuple[str | None, object]:
    fixed = []
    for origin in value:
        url = "*" if origin == "*" else _http_url(origin)
        if url is None or (url != "*" and urlsplit(url).path):
            return "origins like https://www.example.com (scheme and host, no path) or *", value
        fixed.append(url)
    return None, tuple(fixed)


def _database_url(value: str, cwd: Path) -> tuple[str | None, object]:
    expected = "a sqlite+aiosqlite:// or postgresql+asyncpg:// URL"
    scheme, sep, rest = value.partition("://")
    if not sep:
        return expected, value
    scheme = scheme.lower()
    if scheme in ("postgresql", "postgres", "postgresql+asyncpg"):
        return None, f"postgresql+asyncpg://{rest}"
    if scheme not in ("sqlite", "sqlite+aiosqlite"):
        return expected, value
    if not rest.startswith("/"):
        return "a SQLite URL like sqlite+aiosqlite:///var/chat-engine.db", value
    path, qmark, query = rest[1:].partition("?")
    if path and path != ":memory:" and not path.startswith("file:"):
        # Relative to where the command runs, fixed now so a later chdir changes nothing.
        path = str((cwd / path).resolve())
    return None, f"sqlite+aiosqlite:///{path}{qmark}{query}"


def _redis_url(value: str, cwd: Path) -> tuple[str | None, object]:
    parts = urlsplit(value)
    if parts.scheme in ("redis", "rediss") and parts.hostname:
        return None, value
    if parts.scheme == "unix" and parts.path:
        return None, value
    return "a redis://, rediss:// or unix:// URL", value


_CHECKS: dict[str, _Check] = {
    **{key: _int_range(key) for key in _INT_RANGES},
    "http.host": _non_empty,
    "http.public_url": _public_url,
    "http.cors_allowed_origins": _origins,
    "http.widget_title": _non_empty,
    "database.url": _database_url,
    "xmpp.component_jid": _domain,
    "xmpp.secret": _non_empty,
    "xmpp.host": _non_empty,
    "xmpp.reconnect_min_delay": _positive,
    "xmpp.reconnect_max_delay": _positive,
    "log.level": _log_level,
    "socketio.redis_url": _redis_url,
}


def _check_together(settings: Settings) -> None:
    xmpp = settings.xmpp
    if xmpp.reconnect_max_delay < xmpp.reconnect_min_delay:
        raise SettingsError(
            f"xmpp.reconnect_max_delay: expected at least xmpp.reconnect_min_delay "
            f"({xmpp.reconnect_min_delay:g}), got {xmpp.reconnect_max_delay:g}"
        )


def require_secret(settings: Settings) -> str:
    """The component secret, which ``run`` cannot do without."""
    if settings.xmpp.secret is None:
        raise SettingsError(
            "xmpp.secret: required to connect to the XMPP server; set [xmpp] secret or "
            f"secret_file in the config file, {env_name('xmpp.secret')} or "
            f"{env_name('xmpp.secret')}_FILE"
        )
    return settings.xmpp.secret


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
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
