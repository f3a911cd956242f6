"""``chat-engine widget show|set``: a tenant's widget configuration (display mode, theme,
texts, items and triggers; ``docs/widget-guide.md``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from business.errors import InvalidInput
from business.languages import AUTO, LANGUAGES
from business.widget_config import MODES, WidgetConfig
from chat_engine.admin import put_widget_config, widget_config
from chat_engine.settings import Settings
from chat_engine.tenant_option import add_tenant_option, tenant_of


def add_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    widget = commands.add_parser(
        "widget",
        parents=[common],
        help="show or change a tenant's widget configuration",
        description=(
            "The configuration the widget's loader fetches on the tenant's sites: active or "
            "in maintenance, display mode, theme, texts, items and triggers. It is public: "
            "never put a secret in it. Sites see a change within a minute."
        ),
    )
    widget_commands = widget.add_subparsers(dest="widget_command", required=True, metavar="COMMAND")
    show = widget_commands.add_parser(
        "show", parents=[common], help="print the configuration as JSON (what `set --file` takes)"
    )
    add_tenant_option(show)
    change = widget_commands.add_parser(
        "set",
        parents=[common],
        help="change the configuration",
        description="Change what is given; the rest stays as it is. --file replaces the "
        "whole configuration first (items and triggers are set this way).",
    )
    add_tenant_option(change)
    change.add_argument(
        "--file", metavar="PATH", help="a JSON document to replace the configuration ('-': stdin)"
    )
    change.add_argument(
        "--active", choices=("on", "off"), help="off: maintenance, the widget shows nothing"
    )
    change.add_argument("--mode", choices=MODES)
    change.add_argument("--embed-selector", metavar="CSS", help="where embedded mode draws")
    change.add_argument(
        "--language",
        metavar="LANG",
        help=f"{AUTO} (the visitor's browser chooses) or one of {', '.join(LANGUAGES)}",
    )
    change.add_argument("--accent", metavar="COLOUR", help="e.g. '#3b5bdb'")
    change.add_argument("--accent-text", metavar="COLOUR", help="text on the accent colour")
    for key in ("title", "greeting", "input-placeholder", "launcher-label"):
        change.add_argument(f"--{key}", metavar="TEXT")


async def widget_show(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    config = await widget_config(settings, tenant_of(args))
    out.write(json.dumps(config.document, indent=2, ensure_ascii=False) + "\n")
    return 0


async def widget_set(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    tenant = tenant_of(args)
    document: dict[str, Any]
    if args.file is not None:
        document = _read(args.file)
    else:
        document = dict((await widget_config(settings, tenant)).document)
    if args.active is not None:
        document["active"] = args.active == "on"
    if args.mode is not None:
        document["mode"] = args.mode
    if args.embed_selector is not None:
        document["embed_selector"] = args.embed_selector
    if args.language is not None:
        document["language"] = args.language
    theme = {"accent": args.accent, "accent_text": args.accent_text}
    if any(v is not None for v in theme.values()):
        document["theme"] = {**document.get("theme", {}), **_given(theme)}
    texts = {
        "title": args.title,
        "greeting": args.greeting,
        "input_placeholder": args.input_placeholder,
        "launcher_label": args.launcher_label,
    }
    if any(v is not None for v in texts.values()):
        document["texts"] = {**document.get("texts", {}), **_given(texts)}
    config = await put_widget_config(settings, tenant, document)
    out.write(summary(config) + "\n")
    return 0


def summary(config: WidgetConfig) -> str:
    doc = config.document
    state = "active" if doc["active"] else "in maintenance (shows nothing)"
    mode = str(doc["mode"])
    if doc["mode"] == "embedded":
        mode += f" in {doc['embed_selector']}"
    items, triggers = doc["items"], doc["triggers"]
    assert isinstance(items, list)
    assert isinstance(triggers, list)
    return (
        f"widget of tenant {config.tenant_id}: {state}, {mode}, "
        f"{len(items)} items, {len(triggers)} triggers"
    )


def _given(values: dict[str, str | None]) -> dict[str, str]:
    return {key: value for key, value in values.items() if value is not None}


def _read(path: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidInput(f"--file: cannot read {path}: {error.strerror}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"--file: not JSON: {error}") from None
    if not isinstance(document, dict):
        raise InvalidInput("--file: the configuration is a JSON object")
    return document
