"""The audit log is append-only in the database itself (issue 11): triggers refuse every
UPDATE and DELETE of ``audit_log`` (and TRUNCATE on PostgreSQL), whoever issues them, so
a bug, a stray script or an SQL console cannot rewrite what administrators did.

Nothing in the engine changes an entry: retention and a visitor's erasure never touch
the log, whose entries hold no personal data (only action names, ids and field names,
``business.audit``). Disposing of old entries, if ever needed, is a deliberate act of the
database's owner: drop the trigger, delete, recreate it.

Revision ID: 0032
Revises: 0031
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFUSAL = "audit_log is append-only"

_POSTGRES_UP = (
    f"""
    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{REFUSAL}: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()
    """,
    """
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()
    """,
)
_POSTGRES_DOWN = (
    "DROP TRIGGER audit_log_no_truncate ON audit_log",
    "DROP TRIGGER audit_log_append_only ON audit_log",
    "DROP FUNCTION audit_log_append_only()",
)
_SQLITE_UP = tuple(
    f"""
    CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log
    BEGIN SELECT RAISE(ABORT, '{REFUSAL}: {verb} refused'); END
    """
    for verb in ("UPDATE", "DELETE")
)
_SQLITE_DOWN = ("DROP TRIGGER audit_log_no_delete", "DROP TRIGGER audit_log_no_update")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _POSTGRES_UP if postgres else _SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _POSTGRES_DOWN if postgres else _SQLITE_DOWN:
        op.execute(statement)
