"""Which commands the audit log counts as changes (``chat_engine.cli_audit``): a
settings command given no option only shows, and writes no entry."""

from __future__ import annotations

from chat_engine.cli import build_parser
from chat_engine.cli_audit import audited_action


def test_settings_commands_without_options_are_reads() -> None:
    parser = build_parser()
    for command in ("files", "identity", "retention", "redaction"):
        args = parser.parse_args(["tenant", command, "default"])
        assert audited_action(args) is None, command


def test_a_redaction_change_is_audited_with_the_option_names_only() -> None:
    args = build_parser().parse_args(
        ["tenant", "redaction", "default", "--emails", "on", "--pattern", "order=ORD-[0-9]+"]
    )
    done = audited_action(args)
    assert done is not None
    assert (done.action, done.tenant_id, done.options) == (
        "tenant.redaction",
        "default",
        ("emails", "pattern"),
    )
