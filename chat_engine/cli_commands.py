"""Which function runs each administration command of ``chat-engine`` (the runtime
commands, ``run``, ``dev``, ``cluster`` and ``db``, are in ``chat_engine.cli``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Coroutine
from typing import Any, TextIO

from chat_engine import (
    analytics_cli,
    apikey_cli,
    bot_cli,
    canned_cli,
    directory_cli,
    files_cli,
    governance_cli,
    hours_cli,
    identity_cli,
    redaction_cli,
    report_cli,
    tenant_cli,
    thread_cli,
    widget_cli,
)
from chat_engine.settings import Settings

Handler = Callable[[argparse.Namespace, Settings, TextIO], Coroutine[Any, Any, int]]


def admin_handler(args: argparse.Namespace) -> Handler:
    match args.command:
        case "agent" if args.agent_command == "add":
            return directory_cli.agent_add
        case "agent" if args.agent_command == "remove":
            return directory_cli.agent_remove
        case "agent":
            return directory_cli.agent_list
        case "queue" if args.queue_command == "set":
            return directory_cli.queue_set
        case "queue" if args.queue_command == "bot":
            return bot_cli.queue_bot
        case "queue" if args.queue_command == "show":
            return hours_cli.queue_show
        case "queue":
            return directory_cli.queue_list
        case "canned" if args.canned_command == "add":
            return canned_cli.canned_add
        case "canned" if args.canned_command == "remove":
            return canned_cli.canned_remove
        case "canned":
            return canned_cli.canned_list
        case "report" if args.report_command == "triggers":
            return analytics_cli.report_triggers
        case "report" if args.report_command == "page-views":
            return analytics_cli.report_page_views
        case "report":
            return report_cli.report_conversations
        case "tenant" if args.tenant_command == "create":
            return tenant_cli.tenant_create
        case "tenant" if args.tenant_command == "set":
            return tenant_cli.tenant_set
        case "tenant" if args.tenant_command == "identity":
            return identity_cli.tenant_identity
        case "tenant" if args.tenant_command == "files":
            return files_cli.tenant_files
        case "tenant" if args.tenant_command == "retention":
            return governance_cli.tenant_retention
        case "files":
            return files_cli.files_purge
        case "tenant" if args.tenant_command == "redaction":
            return redaction_cli.tenant_redaction
        case "retention":
            return governance_cli.retention_purge
        case "visitor" if args.visitor_command == "export":
            return governance_cli.visitor_export
        case "visitor":
            return governance_cli.visitor_erase
        case "audit":
            return governance_cli.audit_list
        case "tenant":
            return tenant_cli.tenant_list
        case "apikey" if args.apikey_command == "create":
            return apikey_cli.apikey_create
        case "apikey" if args.apikey_command == "revoke":
            return apikey_cli.apikey_revoke
        case "apikey":
            return apikey_cli.apikey_list
        case "widget" if args.widget_command == "set":
            return widget_cli.widget_set
        case "widget":
            return widget_cli.widget_show
        case "thread":
            return thread_cli.thread_open
    raise AssertionError(f"unhandled command {args.command!r}")  # argparse rejects others
