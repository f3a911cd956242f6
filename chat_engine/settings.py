"""Settings: each section is the settings dataclass of the layer it configures, filled from
defaults < TOML file < environment < flags.

======================  ==========================================
section                 dataclass
======================  ==========================================
``[http]``              ``presentation.WebSettings``
``[database]``          ``data.settings.DatabaseSettings``
``[xmpp]``              ``xmpp_bridge.BridgeSettings``
``[limits]``            ``business.validation.Limits``
``[mail]``              ``business.mail_settings.MailSettings``
``[webhooks]``          ``business.webhook_settings.WebhookSettings``
``[files]``             ``business.file_settings.FileSettings``
``[log]``               ``LogSettings`` (below)
``[runtime]``           ``RuntimeSettings`` (below)
======================  ==========================================

The loader knows none of their fields: every typed field is a key, so a field added to
one of those dataclasses can be set at once. Every key is ``<section>.<name>``:
``[xmpp] port = 5347`` in the file, ``CHAT_ENGINE_XMPP_PORT=5347`` in the environment,
``{"xmpp.port": 5347}`` from the CLI. Each dataclass checks its own values in
``__post_init__``, with ``ValueError`` messages that start with the field's name; the
loader reports them as a ``SettingsError`` naming the key and where the value came from,
so a bad value stops the process at start-up, not later inside a request.

Secrets are the fields declared with ``repr=False`` (``xmpp.secret``, ``database.url``,
``http.redis_url``, ``mail.password``): they may instead name a file to read,
``secret_file = "/path"`` in the file or ``CHAT_ENGINE_XMPP_SECRET_FILE`` in the
environment, which keeps them out of ``ps`` and of configuration kept in version
control; messages never show them.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import typing
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from business.file_settings import FileSettings
from business.mail_settings import MailSettings
from business.validation import Limits
from business.webhook_settings import WebhookSettings
from chat_engine.gc_tuning import DEFAULT_THRESHOLD as DEFAULT_GC_THRESHOLD
from chat_engine.setting_types import coerce, parseable, unwrap_optional
from data.settings import DatabaseSettings, canonical_url, redact_url
from presentation.settings import WebSettings
from xmpp_bridge.settings import BridgeSettings

ENV_PREFIX = "CHAT_ENGINE_"
CONFIG_ENV = "CHAT_ENGINE_CONFIG"
"""Names the TOML file when ``--config`` is not given (read by the CLI)."""

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

EXAMPLE_SECRET = "paste the output of: openssl rand -hex 32"
"""The component secret as deploy/config.example.toml shows it; refused if left as is."""
_PLACEHOLDER_SECRETS = frozenset(
    {
        EXAMPLE_SECRET,
        # What deploy/prosody/production.cfg.lua.example once said, copied verbatim.
        "the same long random string as the engine's xmpp.secret",
    }
)

_MOVED = {"socketio.redis_url": "http.redis_url"}
"""Old key -> new key. The old names keep working, with a note saying the new one."""


class SettingsError(ValueError):
    """A setting is unknown, malformed or out of range; the message starts with its key."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LogSettings:
    level: str = "INFO"
    """DEBUG, INFO, WARNING, ERROR or CRITICAL (any case in the file)."""
    json: bool = False
    """One JSON object per line, for log collectors."""

    def __post_init__(self) -> None:
        if self.level not in LOG_LEVELS:
            raise ValueError(f"level: expected one of {', '.join(LOG_LEVELS)}, got {self.level!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class RuntimeSettings:
    uvloop: bool = True
    """Run on uvloop's event loop when it is installed (``pip install uvloop``, part of
    the ``speed`` extra); the standard asyncio loop otherwise, or when false."""
    gc_freeze: bool = True
    """Once the engine has started, leave what is alive then out of the garbage
    collector's later passes (``gc.freeze``; ``chat_engine.gc_tuning``)."""
    gc_threshold: int = DEFAULT_GC_THRESHOLD
    """New objects before the collector's youngest-generation pass (Python's default is
    700); 0 keeps Python's own."""

    def __post_init__(self) -> None:
        if self.gc_threshold < 0:
            raise ValueError(f"gc_threshold: expected 0 or more, got {self.gc_threshold}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    http: WebSettings = field(default_factory=WebSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    xmpp: BridgeSettings = field(default_factory=BridgeSettings)
    limits: Limits = field(default_factory=Limits)
    mail: MailSettings = field(default_factory=MailSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    files: FileSettings = field(default_factory=FileSettings)
    log: LogSettings = field(default_factory=LogSettings)
    runtime: RuntimeSettings = field(default_factory=RuntimeSettings)
    notes: tuple[str, ...] = field(default=(), compare=False)
    """Worth a warning once logging is set up (an old key name still in use, say)."""


@dataclass(frozen=True, slots=True)
class SettingKey:
    """One configurable field: ``section.name``, its type and default."""

    key: str
    section: str
    name: str
    type: Any
    default: object
    secret: bool
    """Declared ``repr=False``: may come from a file, never shown."""


def _sections() -> dict[str, type[Any]]:
    hints = typing.get_type_hints(Settings)
    return {
        f.name: hints[f.name]
        for f in dataclasses.fields(Settings)
        if dataclasses.is_dataclass(hints[f.name])
    }


SECTIONS: Mapping[str, type[Any]] = _sections()


def _keys() -> dict[str, SettingKey]:
    keys: dict[str, SettingKey] = {}
    for section, cls in SECTIONS.items():
        hints = typing.get_type_hints(cls)
        defaults = cls()
        for f in dataclasses.fields(cls):
            key = f"{section}.{f.name}"
            keys[key] = SettingKey(
                key=key,
                section=section,
                name=f.name,
                type=hints[f.name],
                default=getattr(defaults, f.name),
                secret=not f.repr,
            )
    return keys


KEYS: Mapping[str, SettingKey] = _keys()
"""Every key, in the order of the sections and of their fields."""


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
    spelled: str = ""
    """How this layer named the setting, for "set one, not both" messages."""


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
    notes: list[str] = []
    raw: dict[str, _Raw] = {}
    if config_file is not None:
        raw.update(_from_toml(config_file, notes))
    raw.update(_from_env(env or {}, notes))
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key not in KEYS:
            raise SettingsError(f"{key}: unknown setting")
        # Flags arrive as text from argparse, or typed from code that calls us.
        raw[key] = _Raw(value, "command line", from_text=isinstance(value, str))

    cwd = cwd or Path.cwd()
    # The default SQLite path is relative too, and must not depend on a later chdir.
    raw.setdefault("database.url", _Raw(DatabaseSettings().url, "the default", from_text=False))
    values: dict[str, dict[str, object]] = {section: {} for section in SECTIONS}
    for key, item in raw.items():
        spec = KEYS[key]
        if key in unused_secrets and item.secret_file is not None:
            values[spec.section][spec.name] = None
            continue
        values[spec.section][spec.name] = _parse(spec, _read_secret(key, item), cwd)
    sections = {
        section: _build(section, cls, values[section], raw) for section, cls in SECTIONS.items()
    }
    settings = Settings(**sections, notes=tuple(notes))
    if settings.xmpp.secret in _PLACEHOLDER_SECRETS:
        raise SettingsError(
            "xmpp.secret: is the example placeholder; make a secret with "
            "`openssl rand -hex 32` and give the XMPP server the same one "
            f"({_where(raw, 'xmpp.secret')})"
        )
    return settings


def _resolve(spelled: str) -> tuple[str, str, bool] | None:
    """What ``section.name`` from a file or the environment stands for: (the name as
    given without ``_file``, the key, whether it names a file holding a secret)."""
    candidates = [(spelled, False)]
    if spelled.endswith("_file"):
        candidates.append((spelled.removesuffix("_file"), True))
    for name, in_file in candidates:
        spec = KEYS.get(_MOVED.get(name, name))
        if spec is not None and (spec.secret or not in_file):
            return name, spec.key, in_file
    return None


def _from_toml(path: Path, notes: list[str]) -> dict[str, _Raw]:
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
    known = {*SECTIONS, *(old.partition(".")[0] for old in _MOVED)}
    raw: dict[str, _Raw] = {}
    for section, table in document.items():
        if section not in known:
            raise SettingsError(
                f"{section}: unknown section in {source} (known: {', '.join(SECTIONS)})"
            )
        if not isinstance(table, dict):
            raise SettingsError(f"{section}: expected a table [{section}] in {source}")
        for name, value in table.items():
            spelled = f"{section}.{name}"
            resolved = _resolve(spelled)
            if resolved is None:
                raise SettingsError(f"{spelled}: unknown setting in {source}")
            given, key, in_file = resolved
            if given in _MOVED:
                suffix = "_file" if in_file else ""
                notes.append(
                    f"{spelled} in {source} is now called {key}{suffix}; the old name still works"
                )
            if in_file:
                if not isinstance(value, str):
                    raise SettingsError(f"{spelled}: expected a file name, got {value!r}")
                item = _Raw(None, f"{spelled} in {source}", True, Path(value), spelled)
            else:
                item = _Raw(value, source, from_text=False, spelled=spelled)
            _put(raw, key, item)
    return raw


def _from_env(env: Mapping[str, str], notes: list[str]) -> dict[str, _Raw]:
    raw: dict[str, _Raw] = {}
    for var in sorted(env):
        if not var.startswith(ENV_PREFIX) or var == CONFIG_ENV:
            continue
        section, _, name = var[len(ENV_PREFIX) :].lower().partition("_")
        resolved = _resolve(f"{section}.{name}")
        if resolved is None:
            # A typo would otherwise be ignored silently, and the default used instead.
            raise SettingsError(f"{var}: unknown setting")
        given, key, in_file = resolved
        if given in _MOVED:
            new_var = env_name(key) + ("_FILE" if in_file else "")
            notes.append(f"{var} is now called {new_var}; the old name still works")
        if in_file:
            item = _Raw(None, var, True, Path(env[var]), var)
        else:
            item = _Raw(env[var], var, from_text=True, spelled=var)
        _put(raw, key, item)
    return raw


def _put(raw: dict[str, _Raw], key: str, item: _Raw) -> None:
    """One layer names each setting once."""
    earlier = raw.get(key)
    if earlier is not None:
        first, second = sorted((earlier.spelled, item.spelled))
        raise SettingsError(f"{key}: set {first} or {second}, not both")
    raw[key] = item


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


def _where(raw: Mapping[str, _Raw], key: str) -> str:
    item = raw.get(key)
    return f"from {item.source}" if item is not None else "the default"


# -- parsing -------------------------------------------------------------------------


def _parse(spec: SettingKey, item: _Raw, cwd: Path) -> object:
    """The value as the field's type, with the text conveniences of ``_NORMALIZE``."""
    shown = repr(item.value)
    if spec.secret:
        is_url = isinstance(item.value, str) and "://" in item.value
        shown = repr(redact_url(item.value)) if is_url else "'***'"  # type: ignore[arg-type]

    def fail(expected: str) -> SettingsError:
        return SettingsError(f"{spec.key}: expected {expected}, got {shown} (from {item.source})")

    typ, optional = unwrap_optional(spec.type)
    value = item.value
    if optional and (value is None or (item.from_text and value == "")):
        return None
    if not parseable(typ):
        # A new field of a type the loader cannot read: test_settings catches this.
        raise SettingsError(f"{spec.key}: settings of type {typ} cannot be configured yet")
    coerced, expected = coerce(typ, value, from_text=item.from_text)
    if expected is not None:
        raise fail(expected)

    normalize = _NORMALIZE.get(spec.key)
    if normalize is not None:
        try:
            coerced = normalize(coerced, cwd)
        except ValueError as exc:
            raise _field_error(spec.section, str(exc), f"from {item.source}") from None
    return coerced


_NORMALIZE: dict[str, Callable[[Any, Path], object]] = {
    # What people write in a file that the dataclasses would rightly refuse as it stands.
    "http.public_url": lambda url, cwd: url.rstrip("/"),
    "http.cors_allowed_origins": lambda origins, cwd: tuple(o.rstrip("/") for o in origins),
    "xmpp.component_jid": lambda name, cwd: name.lower(),
    "log.level": lambda level, cwd: level.upper(),
    # Relative to where the command runs, fixed now so a later chdir changes nothing.
    "database.url": canonical_url,
}


# -- building the sections -----------------------------------------------------------

_LEADING_NAME = re.compile(r"([a-z_][a-z0-9_]*)\b:?\s*(.*)", re.DOTALL)


def _build(section: str, cls: type[Any], values: dict[str, object], raw: Mapping[str, _Raw]) -> Any:
    try:
        return cls(**values)
    except ValueError as exc:
        name = _LEADING_NAME.match(str(exc))
        where = _where(raw, f"{section}.{name.group(1)}" if name else section)
        raise _field_error(section, str(exc), where) from None


def _field_error(section: str, message: str, where: str) -> SettingsError:
    """``name must be ...`` or ``name: expected ...`` from a section's dataclass, as
    ``section.name: must be ... (from SOURCE)``."""
    names = {f.name for f in dataclasses.fields(SECTIONS[section])}
    match = _LEADING_NAME.match(message)
    if match is None or match.group(1) not in names:
        return SettingsError(f"[{section}]: {message} ({where})")
    return SettingsError(f"{section}.{match.group(1)}: {match.group(2)} ({where})")


def require_secret(settings: Settings) -> str:
    """The component secret, which ``run`` cannot do without."""
    if settings.xmpp.secret is None:
        raise SettingsError(
            "xmpp.secret: required to connect to the XMPP server; set [xmpp] secret or "
            f"secret_file in the config file, {env_name('xmpp.secret')} or "
            f"{env_name('xmpp.secret')}_FILE (make one with `openssl rand -hex 32`)"
        )
    return settings.xmpp.secret
