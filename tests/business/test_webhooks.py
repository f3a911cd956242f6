"""Webhook subscriptions (``business.webhooks``): targets, event types, secrets, tenants."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from standardwebhooks import Webhook

from business.errors import InvalidInput, NotFound, TargetRefused
from business.model import DEFAULT_TENANT, TenantId
from business.webhook_commands import CreateWebhook, RotateWebhookSecret, UpdateWebhook
from business.webhook_model import PUBLIC_EVENT_TYPES, WebhookEventType
from business.webhook_signing import new_secret, secret_key, signature
from business.webhook_targets import address_refusal, check_url
from tests.business.webhook_support import OTHER, URL, Hooks, make_hooks


@pytest.fixture
async def hooks() -> Hooks:
    return await make_hooks()


async def test_a_new_subscription_gets_a_standard_webhooks_secret(hooks: Hooks) -> None:
    sub = await hooks.subscribe()
    assert sub.url == URL
    assert sub.enabled
    assert sub.event_types == ()
    assert sub.secret.startswith("whsec_")
    assert len(base64.b64decode(sub.secret.removeprefix("whsec_"))) == 32
    # The library integrators verify with takes it as it is.
    Webhook(sub.secret)
    assert await hooks.world.services.webhooks.get(DEFAULT_TENANT, sub.id) == sub
    assert await hooks.world.services.webhooks.list(DEFAULT_TENANT) == [sub]
    assert (await hooks.subscribe()).secret != sub.secret


async def test_a_given_secret_is_kept_and_a_malformed_one_refused(hooks: Hooks) -> None:
    own = "whsec_" + base64.b64encode(b"k" * 24).decode()
    sub = await hooks.world.services.webhooks.create(
        CreateWebhook(tenant_id=DEFAULT_TENANT, url=URL, secret=own)
    )
    assert sub.secret == own
    for bad in ("k" * 40, "whsec_not base64!", "whsec_" + base64.b64encode(b"short").decode()):
        with pytest.raises(InvalidInput, match="webhook secret"):
            await hooks.world.services.webhooks.create(
                CreateWebhook(tenant_id=DEFAULT_TENANT, url=URL, secret=bad)
            )


async def test_event_types_are_checked_and_kept_once_each(hooks: Hooks) -> None:
    sub = await hooks.subscribe("message.created", "note.created", " message.created")
    assert sub.event_types == (WebhookEventType.MESSAGE_CREATED, WebhookEventType.NOTE_CREATED)
    with pytest.raises(InvalidInput, match=r"unknown webhook event type 'message\.sent'"):
        await hooks.subscribe("message.sent")


async def test_every_type_means_every_public_one_and_never_the_notes(hooks: Hooks) -> None:
    everything = await hooks.subscribe()
    notes = await hooks.subscribe("note.created")
    assert [t for t in WebhookEventType if everything.wants(t)] == list(PUBLIC_EVENT_TYPES)
    assert not everything.wants(WebhookEventType.NOTE_CREATED)
    assert notes.wants(WebhookEventType.NOTE_CREATED)
    assert not notes.wants(WebhookEventType.MESSAGE_CREATED)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://hooks.example.com/x", "https:// or http://"),
        ("hooks.example.com/x", "https:// or http://"),
        ("https:///x", "names a host"),
        ("https://user:pw@hooks.example.com/x", "no user name or password"),
        ("https://hooks.example.com/x#frag", "no #fragment"),
        ("https://hooks.example.com/a b", "no spaces"),
        ("https://hooks.example.com:99999/x", "not a URL"),
        ("https://hooks.example.com/" + "x" * 2048, "at most 2048"),
        ("https://nowhere.example.com/x", "cannot be resolved"),
    ],
)
async def test_malformed_targets_are_refused(hooks: Hooks, url: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        await hooks.subscribe(url=url)
    assert hooks.world.fakes.webhooks == {}


@pytest.mark.parametrize(
    ("url", "address", "kind"),
    [
        ("http://127.0.0.1:8080/hook", "127.0.0.1", "loopback"),
        ("http://localhost:8080/hook", "127.0.0.1", "loopback"),
        ("http://[::1]/hook", "::1", "loopback"),
        ("https://intranet.example.com/hook", "10.1.2.3", "private"),
        ("https://mixed.example.com/hook", "192.168.1.20", "private"),
        ("http://metadata.example.com/latest", "169.254.169.254", "link-local"),
        ("http://0.0.0.0/hook", "0.0.0.0", "unspecified"),
        ("http://[::ffff:127.0.0.1]/hook", "127.0.0.1", "loopback"),
        ("http://224.0.0.1/hook", "224.0.0.1", "multicast"),
        ("http://100.64.0.1/hook", "100.64.0.1", "public"),
        ("http://240.0.0.1/hook", "240.0.0.1", "reserved"),
    ],
)
async def test_targets_on_non_public_addresses_are_refused(
    hooks: Hooks, url: str, address: str, kind: str
) -> None:
    with pytest.raises(TargetRefused, match=rf"{address} is (a|an|not a) {kind}"):
        await hooks.subscribe(url=url)
    assert hooks.world.fakes.webhooks == {}


async def test_the_setting_allows_private_targets() -> None:
    hooks = await make_hooks(allow_private_targets=True)
    sub = await hooks.subscribe(url="http://localhost:8080/hook")
    assert sub.url == "http://localhost:8080/hook"


async def test_a_changed_url_is_checked_again(hooks: Hooks) -> None:
    sub = await hooks.subscribe()
    webhooks = hooks.world.services.webhooks
    with pytest.raises(TargetRefused):
        await webhooks.update(
            UpdateWebhook(
                tenant_id=DEFAULT_TENANT, subscription_id=sub.id, url="http://localhost/x"
            )
        )
    assert await webhooks.get(DEFAULT_TENANT, sub.id) == sub
    changed = await webhooks.update(
        UpdateWebhook(
            tenant_id=DEFAULT_TENANT,
            subscription_id=sub.id,
            url="https://other.example.com/in",
            event_types=("conversation.ended",),
            enabled=False,
            description="  CRM sync ",
        )
    )
    assert changed.url == "https://other.example.com/in"
    assert changed.event_types == (WebhookEventType.ENDED,)
    assert not changed.enabled
    assert changed.description == "CRM sync"
    assert changed.secret == sub.secret
    assert changed.created_at == sub.created_at
    assert await webhooks.get(DEFAULT_TENANT, sub.id) == changed


async def test_one_tenant_never_reaches_another_tenants_webhooks(hooks: Hooks) -> None:
    theirs = await hooks.subscribe(tenant_id=OTHER)
    webhooks = hooks.world.services.webhooks
    assert await webhooks.list(DEFAULT_TENANT) == []
    with pytest.raises(NotFound):
        await webhooks.get(DEFAULT_TENANT, theirs.id)
    with pytest.raises(NotFound):
        await webhooks.update(
            UpdateWebhook(tenant_id=DEFAULT_TENANT, subscription_id=theirs.id, enabled=False)
        )
    with pytest.raises(NotFound):
        await webhooks.rotate_secret(
            RotateWebhookSecret(tenant_id=DEFAULT_TENANT, subscription_id=theirs.id)
        )
    with pytest.raises(NotFound):
        await webhooks.delete(DEFAULT_TENANT, theirs.id)
    with pytest.raises(NotFound):
        await webhooks.list_deliveries(DEFAULT_TENANT, subscription_id=theirs.id)
    assert await webhooks.get(OTHER, theirs.id) == theirs


async def test_unknown_tenants_and_too_many_subscriptions_are_refused() -> None:
    hooks = await make_hooks(max_per_tenant=2)
    await hooks.subscribe()
    await hooks.subscribe()
    with pytest.raises(InvalidInput, match="at most 2 webhook subscriptions"):
        await hooks.subscribe()
    with pytest.raises(NotFound, match="unknown tenant"):
        await hooks.subscribe(tenant_id=TenantId("nobody"))
    await hooks.subscribe(tenant_id=OTHER)  # a limit per tenant


async def test_a_rotated_secret_signs_beside_the_old_one_for_a_while(hooks: Hooks) -> None:
    sub = await hooks.subscribe()
    now = hooks.world.clock.now()
    rotated = await hooks.world.services.webhooks.rotate_secret(
        RotateWebhookSecret(
            tenant_id=DEFAULT_TENANT, subscription_id=sub.id, keep_previous_for=3600
        )
    )
    assert rotated.secret != sub.secret
    assert rotated.previous_secret == sub.secret
    assert rotated.signing_secrets(now) == (rotated.secret, sub.secret)
    assert rotated.signing_secrets(now + timedelta(hours=1)) == (rotated.secret,)
    leaked = await hooks.world.services.webhooks.rotate_secret(
        RotateWebhookSecret(tenant_id=DEFAULT_TENANT, subscription_id=sub.id, keep_previous_for=0)
    )
    assert leaked.signing_secrets(now) == (leaked.secret,)
    assert leaked.previous_secret is None


async def test_deleting_a_subscription_drops_it(hooks: Hooks) -> None:
    sub = await hooks.subscribe()
    await hooks.world.services.webhooks.delete(DEFAULT_TENANT, sub.id)
    assert await hooks.world.services.webhooks.list(DEFAULT_TENANT) == []
    with pytest.raises(NotFound):
        await hooks.world.services.webhooks.delete(DEFAULT_TENANT, sub.id)


def test_signatures_are_what_the_standard_webhooks_library_computes() -> None:
    from datetime import UTC, datetime

    secret = new_secret()
    body = '{"type":"message.created","data":{"text":"grüße"}}'
    at = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)
    expected = Webhook(secret).sign("msg_1", at, body)
    assert signature(secret, "msg_1", int(at.timestamp()), body) == expected
    assert len(secret_key(secret)) == 32


def test_address_rules() -> None:
    assert address_refusal("93.184.215.14") is None
    assert address_refusal("2606:4700:4700::1111") is None
    assert address_refusal("fd00::1") == "fd00::1 is a private address"
    assert address_refusal("fe80::1") == "fe80::1 is a link-local address"
    assert address_refusal("64:ff9b::a00:1") == "10.0.0.1 is a private address"
    assert address_refusal("localhost") == "'localhost' is not an IP address"
    assert check_url(" https://Hooks.Example.com/x ").host == "hooks.example.com"
    assert check_url("http://hooks.example.com/x").port == 80
    assert check_url("https://[2606:4700::1]:8443/x").port == 8443
