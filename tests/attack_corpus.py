"""Attack payloads that any test can send where people's text ends up on a page, and the
trap that tells whether one of them ran.

Every payload that could run calls ``__xss(n)`` and ``alert(n)`` if it does; ``arm``
exposes ``__xss`` to every page and frame of a browser context and records it, every
dialog and every console error, so a test asserts ``trap.clean()`` after showing the
corpus and then that each payload is on screen as the text that was sent.

The corpus covers script tags, event handlers (``<img onerror>``, ``<svg onload>``,
``<details ontoggle>``), ``javascript:`` links (bare, in markup, in markdown), ``<iframe
srcdoc>``, HTML entities, breakouts of attributes, ``<style>`` and ``<textarea>``,
mutation XSS through foreign content, template-expression injection, RTL overrides
(U+202E) and a very long word without spaces.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from playwright.async_api import BrowserContext, ConsoleMessage, Dialog, Error as PlaywrightError


@dataclass(frozen=True, slots=True)
class Payload:
    n: int
    """What the payload passes to ``__xss`` and ``alert`` if it runs."""
    name: str
    text: str


def _payloads() -> tuple[Payload, ...]:
    run = "__xss({n});alert({n})"
    shapes = [
        ("script tag", "<script>{run}</script>"),
        ("img onerror", '<img src=x onerror="{run}">'),
        ("svg onload", "<svg onload={run}>"),
        ("iframe srcdoc", '<iframe srcdoc="<script>parent.{run}</script>"></iframe>'),
        ("javascript link", '<a href="javascript:{run}">click me</a>'),
        ("bare javascript url", "javascript:{run}"),
        ("markdown link", "[click me](javascript:{run}) and <javascript:{run}>"),
        ("html entities", "&lt;img src=x onerror={run}&gt; &#60;script&#62;{run}&#60;/script&#62;"),
        ("attribute breakout", "\"'><img src=x onerror={run}>"),
        ("style breakout", "</style><img src=x onerror={run}>"),
        ("textarea breakout", "</textarea><svg onload={run}>"),
        ("details ontoggle", "<details open ontoggle={run}>x</details>"),
        ("foreign content", "<math><mtext><table><mglyph><style><img src=x onerror={run}>"),
        ("template injection", "${{{run}}} {{{{constructor.constructor('{run}')()}}}}"),
        ("object data", '<object data="javascript:{run}"></object>'),
        ("body onload", "<body onload={run}>"),
    ]
    made = [
        Payload(n, name, shape.format(run=run.format(n=n)))
        for n, (name, shape) in enumerate(shapes, start=1)
    ]
    made.append(Payload(len(made) + 1, "rtl override", "Invoice \u202egnp.exe\u202c is attached"))
    return tuple(made)


PAYLOADS: tuple[Payload, ...] = _payloads()
"""The markup payloads, each one line of at most a few hundred characters."""

LONG_WORD = "W" * 3000
"""A word without spaces far wider than any chat window."""

FILE_NAMES: tuple[str, ...] = (
    "<img src=x onerror=__xss(101);alert(101)>.png",
    "<svg onload=__xss(102);alert(102)>.pdf",
    # Entities without their ";" (HTML decodes them anyway): aiohttp cannot read a ";"
    # inside a quoted multipart file name.
    "&ltb&gt bold &amp.pdf",
    "invoice\u202egnp.exe",
)
"""File names as a visitor's browser or an agent's client could send them (no ``/``:
no path survives ``business.files.safe_name``)."""

URLS: tuple[str, ...] = (
    "javascript:__xss(201);alert(201)",
    "JaVaScRiPt:__xss(202);alert(202)",
    "data:text/html,<script>alert(203)</script>",
    "vbscript:msgbox(204)",
    " javascript:alert(205)",
)
"""Link targets that must never become links (rich buttons, card images, attachments)."""


def texts() -> list[str]:
    """Every payload's text and the long word."""
    return [p.text for p in PAYLOADS] + [LONG_WORD]


@dataclass
class Trap:
    """What ran: ``__xss`` calls, dialogs (any ``alert``), console errors, page errors."""

    calls: list[object] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def executions(self) -> list[object]:
        return [*self.calls, *self.dialogs]

    def clean(self, *, allow_console: tuple[str, ...] = ()) -> bool:
        """Nothing ran, nothing threw; console errors are allowed only where they contain
        one of ``allow_console`` (a refused image, say)."""
        # The browser asks for /favicon.ico by itself; the demo page has none.
        allowed = ("/favicon.ico)", *allow_console)
        unexpected = [e for e in self.console_errors if not any(ok in e for ok in allowed)]
        return not self.executions() and not self.page_errors and not unexpected


async def arm(context: BrowserContext) -> Trap:
    """Set the trap in every page and frame of ``context`` (before any is opened)."""
    trap = Trap()

    def record(_source: object, n: object) -> None:
        trap.calls.append(n)

    async def dismiss(dialog: Dialog) -> None:
        trap.dialogs.append(dialog.message)
        # Recorded is what matters; over the shared browser's CDP connection a dialog
        # can be gone (closed with its page) before the dismissal reaches it.
        with contextlib.suppress(PlaywrightError):
            await dialog.dismiss()

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            trap.console_errors.append(f"{message.text} ({message.location.get('url')})")

    await context.expose_binding("__xss", record)
    context.on("dialog", dismiss)
    context.on("console", console)
    context.on("weberror", lambda error: trap.page_errors.append(str(error.error)))
    return trap
