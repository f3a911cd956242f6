"""Bad settings fail at start-up, naming the key."""

from __future__ import annotations

import pytest

from xmpp_bridge import BridgeSettings


def test_defaults() -> None:
    settings = BridgeSettings(secret="s")

    assert (settings.component_jid, settings.host, settings.port) == (
        "chat.localhost",
        "127.0.0.1",
        5347,
    )
    assert settings.tenant_id == "default"
    assert not settings.away_is_ready


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"secret": ""}, "secret"),
        ({"component_jid": "Chat.Example"}, "component_jid"),
        ({"component_jid": "queue@chat.example"}, "component_jid"),
        ({"port": 0}, "port"),
        ({"reconnect_min_delay": 0}, "reconnect_min_delay"),
        ({"reconnect_min_delay": 10, "reconnect_max_delay": 5}, "reconnect_min_delay"),
        ({"handshake_timeout": -1}, "handshake_timeout"),
        ({"delivery_flush_interval": 0}, "delivery_flush_interval"),
    ],
)
def test_bad_values_name_the_key(changes: dict[str, object], key: str) -> None:
    values: dict[str, object] = {"secret": "s", **changes}

    with pytest.raises(ValueError, match=key):
        BridgeSettings(**values)  # type: ignore[arg-type]
