"""Bad settings fail at start-up, naming the key."""

from __future__ import annotations

import dataclasses
import math

import pytest

from tests.harness import World
from xmpp_bridge import BridgeSettings, XmppBridge
from xmpp_bridge.settings import is_domain


def test_defaults() -> None:
    settings = BridgeSettings()

    assert settings.secret is None  # optional in a configuration; see the test below
    assert (settings.component_jid, settings.host, settings.port) == (
        "chat.localhost",
        "127.0.0.1",
        5347,
    )
    # One component serves every tenant: agents' addresses decide theirs.
    assert "tenant_id" not in {f.name for f in dataclasses.fields(settings)}
    assert not settings.away_is_ready


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"secret": ""}, "secret"),
        ({"secret": "s" * 31}, "secret must be at least 32 characters"),
        ({"host": ""}, "host"),
        ({"component_jid": "Chat.Example"}, "component_jid"),
        ({"component_jid": "queue@chat.example"}, "component_jid"),
        ({"port": 0}, "port"),
        ({"reconnect_min_delay": 0}, "reconnect_min_delay"),
        ({"reconnect_min_delay": 10, "reconnect_max_delay": 5}, "reconnect_min_delay"),
        ({"handshake_timeout": -1}, "handshake_timeout"),
        ({"delivery_flush_interval": 0}, "delivery_flush_interval"),
        ({"offer_poll_interval": 0}, "offer_poll_interval"),
    ],
)
def test_bad_values_name_the_key(changes: dict[str, object], key: str) -> None:
    values: dict[str, object] = {"secret": "s" * 32, **changes}

    with pytest.raises(ValueError, match=key):
        BridgeSettings(**values)  # type: ignore[arg-type]


LONG_ENOUGH_SECRET = "s" * 64


def test_stanza_budget_defaults_to_64_kib_well_below_what_servers_accept() -> None:
    settings = BridgeSettings(secret=LONG_ENOUGH_SECRET)

    assert settings.stanza_budget == 64 * 1024


@pytest.mark.parametrize("budget", [4096, 448 * 1024])
def test_stanza_budget_bounds_are_accepted(budget: int) -> None:
    assert BridgeSettings(secret=LONG_ENOUGH_SECRET, stanza_budget=budget).stanza_budget == budget


@pytest.mark.parametrize("budget", [0, 4095, 448 * 1024 + 1, 512 * 1024])
def test_stanza_budget_outside_what_servers_accept_names_the_key(budget: int) -> None:
    # Under 4 KiB an offer has no room left for the visitor's words; over 512 KiB
    # Prosody closes the connection, and the bridge keeps a margin below that.
    with pytest.raises(ValueError, match=r"^stanza_budget"):
        BridgeSettings(secret=LONG_ENOUGH_SECRET, stanza_budget=budget)


FLOAT_KEYS = [
    "reconnect_min_delay",
    "reconnect_max_delay",
    "handshake_timeout",
    "presence_relearn_timeout",
    "delivery_flush_interval",
    "offer_poll_interval",
    "delivery_confirm_timeout",
    "delivery_heartbeat",
    "delivery_lease",
    "standby_interval",
]


def test_a_delivery_lease_lasts_at_least_three_heartbeats() -> None:
    BridgeSettings(delivery_heartbeat=2.0, delivery_lease=6.0)
    with pytest.raises(ValueError, match=r"^delivery_lease must be at least three"):
        BridgeSettings(delivery_heartbeat=2.0, delivery_lease=5.9)


def test_every_float_setting_is_checked() -> None:
    floats = {f.name for f in dataclasses.fields(BridgeSettings) if f.type in (float, "float")}

    assert floats == set(FLOAT_KEYS)


@pytest.mark.parametrize("key", FLOAT_KEYS)
@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_float_settings_must_be_finite(key: str, value: float) -> None:
    # An infinite flush interval would never write a cursor; nan passes every "> 0"
    # check written the other way round.
    with pytest.raises(ValueError, match=f"^{key} must be"):
        BridgeSettings(secret=LONG_ENOUGH_SECRET, **{key: value})  # type: ignore[arg-type]


async def test_the_bridge_needs_the_secret_to_start(world: World) -> None:
    with pytest.raises(ValueError, match=r"^secret: the XMPP bridge needs the component secret"):
        XmppBridge(settings=BridgeSettings(), services=world.services)


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("chat.localhost", True),
        ("localhost", True),
        ("a-b.example.org", True),
        ("Chat.Example", False),
        ("chat@example.org", False),
        ("-chat.example", False),
        ("chat..example", False),
        ("a" * 63 + ".example", True),
        ("a" * 64 + ".example", False),
        ("a" * 63 + ("." + "a" * 63) * 2 + "." + "a" * 61, True),  # 253 characters
        ("a" * 63 + ("." + "a" * 63) * 2 + "." + "a" * 62, False),  # 254
        ("chat.example\n", False),
    ],
)
def test_the_one_domain_check(name: str, ok: bool) -> None:
    assert is_domain(name) is ok
