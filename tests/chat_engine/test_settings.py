"""Settings: precedence of the layers and a clear, key-naming error for every bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from chat_engine.settings import (
    KEYS,
    Settings,
    SettingsError,
    env_name,
    load_settings,
    redact_url,
    require_secret,
    sqlite_path,
)


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
    assert settings.socketio.redis_url is None
    # A relative SQLite path is fixed against the working directory at load time.
    assert settings.database.url == f"sqlite+aiosqlite:///{tmp_path.resolve()}/var/chat-engine.db"
    assert sqlite_path(settings.database.url) == tmp_path.resolve() / "var" / "chat-engine.db"


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
cors_allowed_origins = ["https://shop.example", "http://localhost:3000"]
max_http_buffer_size = 2048
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
            "CHAT_ENGINE_LOG_JSON": "1",
            "CHAT_ENGINE_SOCKETIO_REDIS_URL": "redis://127.0.0.1:6379/0",
            "CHAT_ENGINE_HTTP_PUBLIC_URL": "",
        },
        {},
    )
    assert from_env.http.cors_allowed_origins == ("https://a.example", "https://b.example")
    assert from_env.xmpp.away_is_ready is True
    assert from_env.xmpp.reconnect_max_delay == 2.5
    assert from_env.log.json is True
    assert from_env.socketio.redis_url == "redis://127.0.0.1:6379/0"
    assert from_env.http.public_url is None


def test_flags_accept_text_as_argparse_gives_it() -> None:
    settings = load_settings(None, {}, {"http.port": "8181", "log.json": True})
    assert settings.http.port == 8181
    assert settings.log.json is True


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"CHAT_ENGINE_XMPP_PORT": "abc"},
            "xmpp.port: expected an integer between 1 and 65535, got 'abc' "
            "(from CHAT_ENGINE_XMPP_PORT)",
        ),
        (
            {"CHAT_ENGINE_XMPP_PORT": "0"},
            "xmpp.port: expected an integer between 1 and 65535, got '0'",
        ),
        ({"CHAT_ENGINE_HTTP_PORT": "70000"}, "http.port: expected an integer between 0 and 65535"),
        ({"CHAT_ENGINE_LOG_JSON": "maybe"}, "log.json: expected true or false, got 'maybe'"),
        ({"CHAT_ENGINE_LOG_LEVEL": "loud"}, "log.level: expected one of DEBUG, INFO, WARNING"),
        (
            {"CHAT_ENGINE_XMPP_RECONNECT_MIN_DELAY": "soon"},
            "xmpp.reconnect_min_delay: expected a number, got 'soon'",
        ),
        (
            {"CHAT_ENGINE_XMPP_RECONNECT_MIN_DELAY": "-1"},
            "xmpp.reconnect_min_delay: expected a number greater than 0",
        ),
        (
            {
                "CHAT_ENGINE_XMPP_RECONNECT_MIN_DELAY": "10",
                "CHAT_ENGINE_XMPP_RECONNECT_MAX_DELAY": "5",
            },
            "xmpp.reconnect_max_delay: expected at least xmpp.reconnect_min_delay (10), got 5",
        ),
        (
            {"CHAT_ENGINE_XMPP_COMPONENT_JID": "chat@localhost"},
            "xmpp.component_jid: expected a domain name",
        ),
        ({"CHAT_ENGINE_HTTP_PUBLIC_URL": "ftp://x"}, "http.public_url: expected an http://"),
        (
            {"CHAT_ENGINE_HTTP_CORS_ALLOWED_ORIGINS": "https://shop.example/page"},
            "http.cors_allowed_origins: expected origins like",
        ),
        (
            {"CHAT_ENGINE_SOCKETIO_REDIS_URL": "http://127.0.0.1:6379"},
            "socketio.redis_url: expected a redis://, rediss:// or unix:// URL",
        ),
        ({"CHAT_ENGINE_LIMITS_MAX_TEXT_LENGTH": "0"}, "limits.max_text_length: expected an"),
        ({"CHAT_ENGINE_HTTP_PORTT": "1"}, "CHAT_ENGINE_HTTP_PORTT: unknown setting"),
        ({"CHAT_ENGINE_NOPE": "1"}, "CHAT_ENGINE_NOPE: unknown setting"),
    ],
)
def test_bad_environment_values_name_the_key(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(None, env, {})
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[http]\nport = 80.5\n", "http.port: expected an integer between 0 and 65535, got 80.5"),
        ("[http]\nport = true\n", "http.port: expected an integer"),
        ('[log]\njson = "yes"\n', "log.json: expected true or false, got 'yes'"),
        ("[xmpp]\nhost = 1\n", "xmpp.host: expected a string, got 1"),
        ('[http]\ncors_allowed_origins = "*"\n', "http.cors_allowed_origins: expected a list"),
        ("[http]\nprot = 1\n", "http.prot: unknown setting in"),
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
        "got 'mysql://root:***@db/chat'"
    )
    assert "hunter2" not in message
    with pytest.raises(SettingsError, match=r"^database\.url: expected"):
        url("chat.db")


def test_secret_from_file(tmp_path: Path) -> None:
    secret_file = write(tmp_path / "secret", "s3cret-from-file\n")

    from_env = load_settings(None, {"CHAT_ENGINE_XMPP_SECRET_FILE": str(secret_file)}, {})
    assert from_env.xmpp.secret == "s3cret-from-file"

    config = write(tmp_path / "config.toml", f'[xmpp]\nsecret_file = "{secret_file}"\n')
    assert load_settings(config, {}, {}).xmpp.secret == "s3cret-from-file"

    # The environment beats the file, whichever form either uses.
    env = {"CHAT_ENGINE_XMPP_SECRET": "from-env"}
    assert load_settings(config, env, {}).xmpp.secret == "from-env"

    # A file named by a layer that a later one overrides is never read.
    gone = write(tmp_path / "gone.toml", f'[xmpp]\nsecret_file = "{tmp_path / "nope"}"\n')
    assert load_settings(gone, env, {}).xmpp.secret == "from-env"
    assert load_settings(gone, {}, {"xmpp.secret": "flag"}).xmpp.secret == "flag"

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
            {"CHAT_ENGINE_XMPP_SECRET": "a", "CHAT_ENGINE_XMPP_SECRET_FILE": str(empty)},
            {},
        )
    config = write(tmp_path / "c.toml", f'[xmpp]\nsecret = "a"\nsecret_file = "{empty}"\n')
    with pytest.raises(SettingsError, match=r"^xmpp\.secret: set secret or secret_file"):
        load_settings(config, {}, {})
    with pytest.raises(SettingsError, match=r"^xmpp\.secret: expected a non-empty string"):
        load_settings(None, {"CHAT_ENGINE_XMPP_SECRET": " "}, {})


def test_secrets_stay_out_of_messages_and_repr() -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(None, {"CHAT_ENGINE_XMPP_SECRET": " "}, {})
    assert "got '***'" in str(raised.value)

    settings = load_settings(
        None,
        {
            "CHAT_ENGINE_XMPP_SECRET": "topsecret",
            "CHAT_ENGINE_DATABASE_URL": "postgresql://u:pw123@h/db",
        },
        {},
    )
    assert "topsecret" not in repr(settings)
    assert "pw123" not in repr(settings)


def test_run_requires_a_secret() -> None:
    with pytest.raises(SettingsError, match=r"^xmpp\.secret: required .*CHAT_ENGINE_XMPP_SECRET"):
        require_secret(Settings())
    assert require_secret(load_settings(None, {"CHAT_ENGINE_XMPP_SECRET": "x"}, {})) == "x"


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


def test_the_example_config_is_valid(tmp_path: Path) -> None:
    example = Path(__file__).parents[2] / "deploy" / "config.example.toml"
    secret = write(tmp_path / "secret", "s3cret")
    config = write(
        tmp_path / "config.toml",
        example.read_text().replace("/etc/chat-engine/xmpp-secret", str(secret)),
    )
    settings = load_settings(config, {}, {}, cwd=tmp_path)
    assert settings.xmpp.secret == "s3cret"
    assert settings.xmpp.component_jid == "chat.example.com"
