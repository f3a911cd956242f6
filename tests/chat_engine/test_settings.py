"""Settings: each section is a layer's own dataclass; precedence of the layers; a clear,
key-naming error for every bad value."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from business.validation import Limits
from chat_engine.setting_types import parseable
from chat_engine.settings import (
    EXAMPLE_SECRET,
    KEYS,
    LogSettings,
    Settings,
    SettingsError,
    env_name,
    load_settings,
    require_secret,
)
from data.settings import DatabaseSettings, redact_url, sqlite_path
from presentation import WebSettings
from xmpp_bridge import BridgeSettings

SECRET = "0123456789abcdef0123456789abcdef"  # 32 characters, the shortest allowed
EXAMPLE = Path(__file__).parents[2] / "deploy" / "config.example.toml"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_defaults_are_the_embedded_setup(tmp_path: Path) -> None:
    settings = load_settings(None, {}, {}, cwd=tmp_path)

    assert settings.http.host == "127.0.0.1"
    assert settings.http.port == 8080
    assert settings.xmpp.component_jid == "chat.localhost"
    assert (settings.xmpp.host, settings.xmpp.port) == ("127.0.0.1", 5347)
    assert settings.xmpp.secret is None
    assert settings.log.level == "INFO"
    assert settings.http.redis_url is None
    # A relative SQLite path is fixed against the working directory at load time.
    assert settings.database.url == f"sqlite+aiosqlite:///{tmp_path.resolve()}/var/chat-engine.db"
    assert sqlite_path(settings.database.url) == tmp_path.resolve() / "var" / "chat-engine.db"


def test_each_section_is_the_settings_dataclass_of_its_layer() -> None:
    settings = load_settings(None, {}, {})
    assert isinstance(settings.http, WebSettings)
    assert isinstance(settings.database, DatabaseSettings)
    assert isinstance(settings.xmpp, BridgeSettings)
    assert isinstance(settings.limits, Limits)
    assert isinstance(settings.log, LogSettings)


def test_every_knob_can_be_set() -> None:
    knobs = {
        "http.event_burst",
        "http.event_rate_per_second",
        "database.cache_ttl",
        "database.cache_size",
        "database.connect_timeout",
        "database.ping_after_idle",
        "runtime.uvloop",
        "xmpp.handshake_timeout",
        "xmpp.presence_relearn_timeout",
        "xmpp.delivery_flush_interval",
        "xmpp.delivery_confirm_timeout",
        "xmpp.stanza_budget",
        "limits.max_queue_waiting",
    }
    assert knobs <= set(KEYS)
    # One component serves every tenant (agents' addresses decide theirs): there is no
    # tenant to configure.
    assert "xmpp.tenant_id" not in KEYS
    with pytest.raises(SettingsError, match=r"^CHAT_ENGINE_XMPP_TENANT_ID: unknown setting"):
        load_settings(None, {"CHAT_ENGINE_XMPP_TENANT_ID": "other"}, {})


@pytest.mark.parametrize("value", ["-1", "nan", "inf"])
def test_ping_after_idle_must_be_a_finite_number_of_seconds(value: str) -> None:
    with pytest.raises(SettingsError, match="ping_after_idle"):
        load_settings(None, {"CHAT_ENGINE_DATABASE_PING_AFTER_IDLE": value}, {})


def _text(value: object) -> str:
    """A default as the environment would spell it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple):
        return "[" + ", ".join(f'"{v}"' for v in value) + "]"
    return repr(value)


_SET_DEFAULTS = [key for key, spec in KEYS.items() if spec.default is not None]


@pytest.mark.parametrize("key", _SET_DEFAULTS)
def test_every_field_of_every_section_is_a_key_in_the_file_and_the_environment(
    tmp_path: Path, key: str
) -> None:
    """Whatever field a layer adds to its dataclass can be configured at once, both ways
    (its type must be one the loader reads)."""
    spec = KEYS[key]
    assert parseable(spec.type), f"{key}: the loader cannot read {spec.type}"
    expected = getattr(load_settings(None, {}, {}, cwd=tmp_path), spec.section)
    expected = getattr(expected, spec.name)

    from_env = load_settings(None, {env_name(key): _text(spec.default)}, {}, cwd=tmp_path)
    assert getattr(getattr(from_env, spec.section), spec.name) == expected
    config = write(tmp_path / "c.toml", f"[{spec.section}]\n{spec.name} = {_toml(spec.default)}\n")
    from_file = load_settings(config, {}, {}, cwd=tmp_path)
    assert getattr(getattr(from_file, spec.section), spec.name) == expected


def test_the_example_config_lists_every_key_with_its_default() -> None:
    listed: dict[str, object] = {}
    section = ""
    for line in EXAMPLE.read_text().splitlines():
        if header := re.fullmatch(r"\[(\w+)\]", line):
            section = header.group(1)
        elif setting := re.match(r"#? ?([a-z0-9_]+) = (.*?)(\s+#.*)?$", line):
            name, value = setting.group(1), setting.group(2)
            commented = line.startswith("#")
            parsed = tomllib.loads(f"v = {value}")["v"]
            key = f"{section}.{name.removesuffix('_file')}"
            # A key without a default is shown commented out, with an example value.
            shown = None if commented or name.endswith("_file") else parsed
            if key not in listed or shown is not None:
                listed[key] = shown
    missing = set(KEYS) - set(listed)
    assert not missing, f"add to {EXAMPLE.name}: {sorted(missing)}"
    assert set(listed) <= set(KEYS)
    for key, spec in KEYS.items():
        if key in ("database.url", "xmpp.component_jid") or listed[key] is None:
            continue  # shown with the default of a real deployment
        default = list(spec.default) if isinstance(spec.default, tuple) else spec.default
        assert listed[key] == default, key


def test_the_example_config_is_valid(tmp_path: Path) -> None:
    secret = write(tmp_path / "secret", SECRET)
    config = write(
        tmp_path / "config.toml",
        EXAMPLE.read_text().replace("/etc/chat-engine/xmpp-secret", str(secret)),
    )
    settings = load_settings(config, {}, {}, cwd=tmp_path)
    assert settings.xmpp.secret == SECRET
    assert settings.xmpp.component_jid == "chat.example.com"
    assert settings.notes == ()


def test_file_then_environment_then_flags(tmp_path: Path) -> None:
    config = write(
        tmp_path / "config.toml",
        '[http]\nport = 9000\nwidget_title = "From file"\n[log]\nlevel = "warning"\n',
    )
    env = {"CHAT_ENGINE_HTTP_PORT": "9001", "CHAT_ENGINE_LOG_LEVEL": "debug"}

    assert load_settings(config, {}, {}).http.port == 9000
    assert load_settings(config, env, {}).http.port == 9001
    settings = load_settings(config, env, {"http.port": 9002, "log.level": None})

    assert settings.http.port == 9002
    assert settings.http.widget_title == "From file"  # only what a later layer sets changes
    assert settings.log.level == "DEBUG"  # None means "flag not given"


def test_every_type_parses_from_file_and_environment(tmp_path: Path) -> None:
    config = write(
        tmp_path / "config.toml",
        """
[http]
public_url = "https://chat.example.com/"
cors_allowed_origins = ["https://shop.example/", "http://localhost:3000"]
max_http_buffer_size = 2048
event_rate_per_second = 3
[database]
cache_ttl = 0
[xmpp]
component_jid = "Chat.Example.COM"
away_is_ready = true
reconnect_min_delay = 2
[limits]
max_text_length = 100
""",
    )
    from_file = load_settings(config, {}, {})
    assert from_file.http.public_url == "https://chat.example.com"
    assert from_file.http.cors_allowed_origins == ("https://shop.example", "http://localhost:3000")
    assert from_file.http.max_http_buffer_size == 2048
    assert from_file.http.event_rate_per_second == 3.0
    assert from_file.database.cache_ttl == 0.0
    assert from_file.xmpp.component_jid == "chat.example.com"
    assert from_file.xmpp.away_is_ready is True
    assert from_file.xmpp.reconnect_min_delay == 2.0
    assert from_file.limits.max_text_length == 100

    from_env = load_settings(
        None,
        {
            "CHAT_ENGINE_HTTP_CORS_ALLOWED_ORIGINS": "https://a.example, https://b.example",
            "CHAT_ENGINE_XMPP_AWAY_IS_READY": "yes",
            "CHAT_ENGINE_XMPP_RECONNECT_MAX_DELAY": "2.5",
            "CHAT_ENGINE_XMPP_DELIVERY_CONFIRM_TIMEOUT": "3",
            "CHAT_ENGINE_DATABASE_CONNECT_TIMEOUT": "1.5",
            "CHAT_ENGINE_LOG_JSON": "1",
            "CHAT_ENGINE_HTTP_REDIS_URL": "redis://127.0.0.1:6379/0",
            "CHAT_ENGINE_HTTP_PUBLIC_URL": "",
        },
        {},
    )
    assert from_env.http.cors_allowed_origins == ("https://a.example", "https://b.example")
    assert from_env.xmpp.away_is_ready is True
    assert from_env.xmpp.reconnect_max_delay == 2.5
    assert from_env.xmpp.delivery_confirm_timeout == 3.0
    assert from_env.database.connect_timeout == 1.5
    assert from_env.log.json is True
    assert from_env.http.redis_url == "redis://127.0.0.1:6379/0"
    assert from_env.http.public_url is None


def test_the_old_socketio_section_still_works_and_says_the_new_name(tmp_path: Path) -> None:
    url = "redis://127.0.0.1:6379/0"
    config = write(tmp_path / "c.toml", f'[socketio]\nredis_url = "{url}"\n')
    settings = load_settings(config, {}, {})
    assert settings.http.redis_url == url
    assert settings.notes == (
        f"socketio.redis_url in {config} is now called http.redis_url; the old name still works",
    )

    from_env = load_settings(None, {"CHAT_ENGINE_SOCKETIO_REDIS_URL": url}, {})
    assert from_env.http.redis_url == url
    assert from_env.notes == (
        "CHAT_ENGINE_SOCKETIO_REDIS_URL is now called CHAT_ENGINE_HTTP_REDIS_URL; "
        "the old name still works",
    )
    secret_file = write(tmp_path / "redis", url)
    from_file = load_settings(None, {"CHAT_ENGINE_SOCKETIO_REDIS_URL_FILE": str(secret_file)}, {})
    assert from_file.http.redis_url == url

    with pytest.raises(SettingsError, match=r"^http\.redis_url: set http\.redis_url or socketio"):
        load_settings(
            write(
                tmp_path / "both.toml",
                f'[http]\nredis_url = "{url}"\n[socketio]\nredis_url = "{url}"\n',
            ),
            {},
            {},
        )


def test_flags_accept_text_as_argparse_gives_it() -> None:
    settings = load_settings(None, {}, {"http.port": "8181", "log.json": True})
    assert settings.http.port == 8181
    assert settings.log.json is True


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"CHAT_ENGINE_XMPP_PORT": "abc"},
            "xmpp.port: expected an integer, got 'abc' (from CHAT_ENGINE_XMPP_PORT)",
        ),
        # From the bridge's own check, reported with the key and the source.
        (
            {"CHAT_ENGINE_XMPP_PORT": "0"},
            "xmpp.port: must be between 1 and 65535, not 0 (from CHAT_ENGINE_XMPP_PORT)",
        ),
        (
            {"CHAT_ENGINE_HTTP_PORT": "70000"},
            "http.port: must be between 0 and 65535, not 70000 (from CHAT_ENGINE_HTTP_PORT)",
        ),
        ({"CHAT_ENGINE_LOG_JSON": "maybe"}, "log.json: expected true or false, got 'maybe'"),
        ({"CHAT_ENGINE_LOG_LEVEL": "loud"}, "log.level: expected one of DEBUG, INFO, WARNING"),
        (
            {"CHAT_ENGINE_XMPP_RECONNECT_MIN_DELAY": "soon"},
            "xmpp.reconnect_min_delay: expected a finite number, got 'soon'",
        ),
        (
            {"CHAT_ENGINE_XMPP_RECONNECT_MIN_DELAY": "-1"},
            "xmpp.reconnect_min_delay: must be positive (from CHAT_ENGINE_XMPP_RECONNECT_MIN",
        ),
        (
            {
                "CHAT_ENGINE_XMPP_RECONNECT_MIN_DELAY": "10",
                "CHAT_ENGINE_XMPP_RECONNECT_MAX_DELAY": "5",
            },
            "xmpp.reconnect_min_delay: must not exceed reconnect_max_delay",
        ),
        (
            {"CHAT_ENGINE_XMPP_COMPONENT_JID": "chat@localhost"},
            "xmpp.component_jid: must be a lower-case domain",
        ),
        (
            {"CHAT_ENGINE_XMPP_HANDSHAKE_TIMEOUT": "0"},
            "xmpp.handshake_timeout: must be positive (from CHAT_ENGINE_XMPP_HANDSHAKE_TIMEOUT)",
        ),
        ({"CHAT_ENGINE_HTTP_PUBLIC_URL": "ftp://x"}, "http.public_url: must be an http://"),
        (
            {"CHAT_ENGINE_HTTP_CORS_ALLOWED_ORIGINS": "https://shop.example/page"},
            "http.cors_allowed_origins: must be origins like",
        ),
        (
            {"CHAT_ENGINE_HTTP_REDIS_URL": "http://127.0.0.1:6379"},
            "http.redis_url: must be a redis://, rediss:// or unix:// URL",
        ),
        ({"CHAT_ENGINE_HTTP_EVENT_BURST": "0"}, "http.event_burst: must be at least 1"),
        (
            {"CHAT_ENGINE_HTTP_DRAIN_SECONDS": "-1"},
            "http.drain_seconds: must be between 0 and 3600, not -1.0",
        ),
        (
            {"CHAT_ENGINE_DATABASE_CACHE_TTL": "-1"},
            "database.cache_ttl: must be 0 (no caching) or more, not -1.0 "
            "(from CHAT_ENGINE_DATABASE_CACHE_TTL)",
        ),
        (
            {"CHAT_ENGINE_LIMITS_MAX_TEXT_LENGTH": "0"},
            "limits.max_text_length: expected an integer between 1 and 1000000 "
            "(from CHAT_ENGINE_LIMITS_MAX_TEXT_LENGTH)",
        ),
        (
            {"CHAT_ENGINE_LIMITS_MAX_TEXT_LENGTH": "1000001"},
            "limits.max_text_length: expected an integer between 1 and 1000000 "
            "(from CHAT_ENGINE_LIMITS_MAX_TEXT_LENGTH)",
        ),
        ({"CHAT_ENGINE_HTTP_PORTT": "1"}, "CHAT_ENGINE_HTTP_PORTT: unknown setting"),
        ({"CHAT_ENGINE_NOPE": "1"}, "CHAT_ENGINE_NOPE: unknown setting"),
        # Only secrets may come from a file.
        ({"CHAT_ENGINE_HTTP_PORT_FILE": "/x"}, "CHAT_ENGINE_HTTP_PORT_FILE: unknown setting"),
    ],
)
def test_bad_environment_values_name_the_key(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(None, env, {})
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[http]\nport = 80.5\n", "http.port: expected an integer, got 80.5"),
        ("[http]\nport = true\n", "http.port: expected an integer"),
        ('[log]\njson = "yes"\n', "log.json: expected true or false, got 'yes'"),
        ("[xmpp]\nhost = 1\n", "xmpp.host: expected a string, got 1"),
        ('[xmpp]\nhost = " "\n', "xmpp.host: must not be empty"),
        ('[http]\ncors_allowed_origins = "*"\n', "http.cors_allowed_origins: expected a list"),
        ("[database]\ncache_size = -5\n", "database.cache_size: must be 0 (no caching) or more"),
        ("[http]\nprot = 1\n", "http.prot: unknown setting in"),
        ("[http]\nport_file = 1\n", "http.port_file: unknown setting in"),
        ("[htp]\nport = 1\n", "htp: unknown section in"),
        ("http = 1\n", "http: expected a table"),
    ],
)
def test_bad_file_values_name_the_key_and_the_file(tmp_path: Path, toml: str, message: str) -> None:
    config = write(tmp_path / "config.toml", toml)
    with pytest.raises(SettingsError) as raised:
        load_settings(config, {}, {})
    assert str(raised.value).startswith(message)
    assert str(config) in str(raised.value)


def test_unreadable_or_broken_config_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"config file .*missing.toml: not found"):
        load_settings(tmp_path / "missing.toml", {}, {})
    broken = write(tmp_path / "broken.toml", "[http\n")
    with pytest.raises(SettingsError, match=r"config file .*broken.toml: "):
        load_settings(broken, {}, {})


def test_unknown_flag_key() -> None:
    with pytest.raises(SettingsError, match=r"^http\.prot: unknown setting"):
        load_settings(None, {}, {"http.prot": 1})


def test_database_url_schemes(tmp_path: Path) -> None:
    def url(value: str) -> str:
        return load_settings(
            None, {"CHAT_ENGINE_DATABASE_URL": value}, {}, cwd=tmp_path
        ).database.url

    assert (
        url("postgresql://u:p@127.0.0.1:5432/test")
        == "postgresql+asyncpg://u:p@127.0.0.1:5432/test"
    )
    assert url("postgres://127.0.0.1/test") == "postgresql+asyncpg://127.0.0.1/test"
    assert url("sqlite:///data/x.db") == f"sqlite+aiosqlite:///{tmp_path.resolve()}/data/x.db"
    assert (
        url("sqlite+aiosqlite:////srv/x.db?timeout=5") == "sqlite+aiosqlite:////srv/x.db?timeout=5"
    )
    assert url("sqlite+aiosqlite:///:memory:") == "sqlite+aiosqlite:///:memory:"

    with pytest.raises(SettingsError) as raised:
        url("mysql://root:hunter2@db/chat")
    message = str(raised.value)
    assert message.startswith(
        "database.url: expected a sqlite+aiosqlite:// or postgresql+asyncpg:// URL, "
        "got 'mysql://root:***@db/chat' (from CHAT_ENGINE_DATABASE_URL)"
    )
    assert "hunter2" not in message
    with pytest.raises(SettingsError, match=r"^database\.url: expected"):
        url("chat.db")


def test_secret_from_file(tmp_path: Path) -> None:
    from_file, from_env = "f" * 32, "e" * 32
    secret_file = write(tmp_path / "secret", from_file + "\n")

    env_file = load_settings(None, {"CHAT_ENGINE_XMPP_SECRET_FILE": str(secret_file)}, {})
    assert env_file.xmpp.secret == from_file

    config = write(tmp_path / "config.toml", f'[xmpp]\nsecret_file = "{secret_file}"\n')
    assert load_settings(config, {}, {}).xmpp.secret == from_file

    # The environment beats the file, whichever form either uses.
    env = {"CHAT_ENGINE_XMPP_SECRET": from_env}
    assert load_settings(config, env, {}).xmpp.secret == from_env

    # A file named by a layer that a later one overrides is never read.
    gone = write(tmp_path / "gone.toml", f'[xmpp]\nsecret_file = "{tmp_path / "nope"}"\n')
    assert load_settings(gone, env, {}).xmpp.secret == from_env
    assert load_settings(gone, {}, {"xmpp.secret": SECRET}).xmpp.secret == SECRET

    db_file = write(tmp_path / "db-url", "postgresql://u:p@127.0.0.1/test\n")
    from_db_file = load_settings(None, {"CHAT_ENGINE_DATABASE_URL_FILE": str(db_file)}, {})
    assert from_db_file.database.url == "postgresql+asyncpg://u:p@127.0.0.1/test"


def test_secret_file_errors(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^xmpp\.secret: cannot read .*nope"):
        load_settings(None, {"CHAT_ENGINE_XMPP_SECRET_FILE": str(tmp_path / "nope")}, {})
    empty = write(tmp_path / "empty", "\n")
    with pytest.raises(SettingsError, match=r"^xmpp\.secret: .*empty.* is empty"):
        load_settings(None, {"CHAT_ENGINE_XMPP_SECRET_FILE": str(empty)}, {})
    with pytest.raises(SettingsError, match=r"^xmpp\.secret: set CHAT_ENGINE_XMPP_SECRET or"):
        load_settings(
            None,
            {"CHAT_ENGINE_XMPP_SECRET": SECRET, "CHAT_ENGINE_XMPP_SECRET_FILE": str(empty)},
            {},
        )
    config = write(tmp_path / "c.toml", f'[xmpp]\nsecret = "{SECRET}"\nsecret_file = "{empty}"\n')
    with pytest.raises(
        SettingsError, match=r"^xmpp\.secret: set xmpp\.secret or xmpp\.secret_file"
    ):
        load_settings(config, {}, {})


@pytest.mark.parametrize("secret", [" ", "short-but-not-empty", SECRET[:-1]])
def test_a_short_secret_is_refused_saying_how_to_make_one(secret: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(None, {"CHAT_ENGINE_XMPP_SECRET": secret}, {})
    assert str(raised.value) == (
        "xmpp.secret: must be at least 32 characters long; make one with "
        "`openssl rand -hex 32` (from CHAT_ENGINE_XMPP_SECRET)"
    )
    assert len(SECRET) == 32
    assert load_settings(None, {"CHAT_ENGINE_XMPP_SECRET": SECRET}, {}).xmpp.secret == SECRET


def test_the_example_placeholder_secret_is_refused(tmp_path: Path) -> None:
    # Uncommenting the example's `secret = ...` line as it stands ...
    line = next(line for line in EXAMPLE.read_text().splitlines() if line.startswith("# secret ="))
    config = write(tmp_path / "c.toml", "[xmpp]\n" + line.removeprefix("# ") + "\n")
    assert EXAMPLE_SECRET in line
    with pytest.raises(SettingsError) as raised:
        load_settings(config, {}, {})
    assert str(raised.value) == (
        "xmpp.secret: is the example placeholder; make a secret with `openssl rand -hex 32` "
        f"and give the XMPP server the same one (from {config})"
    )
    # ... or the Prosody example's, now or as it once was, copied into a secret file.
    lua = (EXAMPLE.parent / "prosody" / "production.cfg.lua.example").read_text()
    placeholder = re.search(r'component_secret = "([^"]*)"', lua)
    assert placeholder is not None
    for text in (placeholder.group(1), "the same long random string as the engine's xmpp.secret"):
        prosody = write(tmp_path / "s", text)
        with pytest.raises(SettingsError, match="is the example placeholder"):
            load_settings(None, {"CHAT_ENGINE_XMPP_SECRET_FILE": str(prosody)}, {})


def test_secrets_stay_out_of_messages_and_repr() -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(None, {"CHAT_ENGINE_XMPP_SECRET": "hunter2-is-too-short"}, {})
    assert "hunter2" not in str(raised.value)
    with pytest.raises(SettingsError) as raised:
        load_settings(None, {"CHAT_ENGINE_HTTP_REDIS_URL": "http://:pw123@redis"}, {})
    assert "pw123" not in str(raised.value)

    settings = load_settings(
        None,
        {
            "CHAT_ENGINE_XMPP_SECRET": SECRET,
            "CHAT_ENGINE_DATABASE_URL": "postgresql://u:pw123@h/db",
            "CHAT_ENGINE_HTTP_REDIS_URL": "redis://:pw456@h:6379/0",
        },
        {},
    )
    assert SECRET not in repr(settings)
    assert "pw123" not in repr(settings)
    assert "pw456" not in repr(settings)


def test_run_requires_a_secret() -> None:
    with pytest.raises(SettingsError, match=r"^xmpp\.secret: required .*CHAT_ENGINE_XMPP_SECRET"):
        require_secret(Settings())
    assert require_secret(load_settings(None, {"CHAT_ENGINE_XMPP_SECRET": SECRET}, {})) == SECRET


def test_every_key_has_an_environment_name() -> None:
    assert env_name("xmpp.reconnect_min_delay") == "CHAT_ENGINE_XMPP_RECONNECT_MIN_DELAY"
    for key in KEYS:
        section, name = key.split(".")
        assert "_" not in section  # CHAT_ENGINE_<SECTION>_<NAME> splits at the first "_"
        assert env_name(key).lower().endswith(name)


def test_redact_url() -> None:
    assert (
        redact_url("postgresql+asyncpg://u:secret@h:5432/db")
        == "postgresql+asyncpg://u:***@h:5432/db"
    )
    assert redact_url("sqlite+aiosqlite:////x.db") == "sqlite+aiosqlite:////x.db"


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e999"])
@pytest.mark.parametrize(
    "key",
    ["xmpp.delivery_flush_interval", "http.event_rate_per_second", "database.cache_ttl"],
)
def test_numbers_must_be_finite(key: str, value: str) -> None:
    """``inf`` would pass "greater than 0" and quietly switch a timer or a limit off."""
    with pytest.raises(SettingsError, match=f"{key}: expected a finite number"):
        load_settings(env={env_name(key): value})
