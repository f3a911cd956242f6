"""The widget passes the site's signed identity (``window.ChatEngineIdentity``): the same
customer in a second browser context (another device) sees the first one's chat, and
``ChatEngine.identify`` sets or clears it."""

from __future__ import annotations

import json

import jwt
from playwright.async_api import Browser, Page, expect

from business.identity_model import IdentityMode
from tests.harness import World
from tests.presentation.conftest import Server
from tests.presentation.test_identity_socket import SECRET, claims, configure


async def _device(browser: Browser, server: Server, token: str) -> tuple[Page, list[str]]:
    context = await browser.new_context()
    await context.add_init_script(f"window.ChatEngineIdentity = {json.dumps(token)};")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{server.url}/demo")
    await page.get_by_test_id("launcher").click()
    await expect(page.get_by_test_id("window")).to_be_visible()
    return page, errors


async def test_a_second_device_with_the_same_identity_sees_the_chat(
    server: Server, world: World, browser: Browser, widget_dist: object
) -> None:
    await configure(world, IdentityMode.REQUIRED)  # nobody gets in without the token
    token = jwt.encode(claims(), SECRET, algorithm="HS256")

    laptop, laptop_errors = await _device(browser, server, token)
    await laptop.get_by_test_id("input").fill("Is my order on its way?")
    await laptop.get_by_test_id("send").click()
    sent = laptop.locator('[data-testid="message"][data-kind="visitor"][data-seq]')
    await expect(sent).to_have_count(1)

    phone, phone_errors = await _device(browser, server, token)
    seen = phone.locator('[data-testid="message"][data-kind="visitor"][data-seq]')
    await expect(seen).to_have_count(1)
    await expect(seen.first).to_contain_text("Is my order on its way?")
    # Each device keeps its own token for the same visitor.
    tokens = [
        await page.evaluate(
            "Object.keys(localStorage).filter(k => k.endsWith(':token'))"
            ".map(k => localStorage.getItem(k))"
        )
        for page in (laptop, phone)
    ]
    assert all(len(found) == 1 for found in tokens)
    assert tokens[0] != tokens[1]
    # The site's logout clears the identity for the next connect (an explicit null);
    # a call without a token leaves it.
    cleared = await phone.evaluate(
        """() => {
            const seen = [];
            const calls = [{ token: null }, { token: "t2" }, {}, { token: "t3" }, undefined];
            for (const options of calls) {
                ChatEngine.identify(options);
                seen.push(window.ChatEngineIdentity);
            }
            return seen;
        }"""
    )
    assert cleared == [None, "t2", "t2", "t3", "t3"]
    assert laptop_errors == phone_errors == []
