"""Migration 0004: events stored before it get ``pos = seq``; the delivery cursor and
``last_pos`` carry over, and going back drops what the visitor never saw."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import Connection, text

from data import Database
from data.database import alembic_config

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _to(revision: str) -> object:
    def run(connection: Connection) -> None:
        if revision == "0003":
            command.downgrade(alembic_config(connection), revision)
        else:
            command.upgrade(alembic_config(connection), revision)

    return run


async def _seed_at_0003(connection: object) -> None:
    run = connection.execute  # type: ignore[attr-defined]
    await run(text("INSERT INTO tenants (id, name, created_at) VALUES ('t', 'T', :t)"), {"t": T0})
    await run(
        text("INSERT INTO queues (tenant_id, name, title, waiting) VALUES ('t', 'support', 'S', 0)")
    )
    await run(
        text(
            "INSERT INTO visitors (id, tenant_id, token_hash, created_at) "
            "VALUES ('v', 't', 'h', :t)"
        ),
        {"t": T0},
    )
    await run(
        text(
            "INSERT INTO conversations (id, tenant_id, visitor_id, visitor_name, queue, state, "
            "created_at, context, form, last_seq, visitor_read_seq, agent_delivered_seq) "
            "VALUES ('c', 't', 'v', 'Vera', 'support', 'queued', :t, '{}', '{}', 3, 1, 2)"
        ),
        {"t": T0},
    )
    for seq in (1, 2, 3):
        await run(
            text(
                "INSERT INTO conversation_events (conversation_id, seq, type, created_at, "
                "event_id, sender_kind, sender_name, sender_id, text, payload) VALUES "
                "('c', :seq, 'message', :t, :id, 'visitor', 'Vera', 'v', :body, '{}')"
            ),
            {"seq": seq, "t": T0, "id": f"e{seq}", "body": f"m{seq}"},
        )


async def test_stored_events_get_their_seq_as_pos_and_cursors_carry_over(
    database: Database,
) -> None:
    async with database.begin() as connection:
        await connection.run_sync(_to("0003"))  # type: ignore[arg-type]
        await _seed_at_0003(connection)
        await connection.run_sync(_to("head"))  # type: ignore[arg-type]
        rows = (
            await connection.execute(text("SELECT pos, seq FROM conversation_events ORDER BY pos"))
        ).all()
        conv = (
            await connection.execute(
                text("SELECT last_seq, last_pos, agent_delivered_pos FROM conversations")
            )
        ).one()
    assert [tuple(r) for r in rows] == [(1, 1), (2, 2), (3, 3)]
    assert tuple(conv) == (3, 3, 2)


async def test_downgrade_drops_hidden_events_and_keeps_the_cursor_on_seqs(
    database: Database,
) -> None:
    async with database.begin() as connection:
        await connection.run_sync(_to("0003"))  # type: ignore[arg-type]
        await _seed_at_0003(connection)
        await connection.run_sync(_to("head"))  # type: ignore[arg-type]
        # A note at pos 3 (moving the visible message to pos 4), the agent sent up to it.
        await connection.execute(text("UPDATE conversation_events SET pos = 4 WHERE seq = 3"))
        await connection.execute(
            text(
                "INSERT INTO conversation_events (conversation_id, pos, seq, type, created_at, "
                "event_id, sender_kind, sender_name, sender_id, text, payload) VALUES "
                "('c', 3, NULL, 'note.added', :t, 'n1', 'agent', 'Alice', 'a', 'vip', '{}')"
            ),
            {"t": T0},
        )
        await connection.execute(
            text("UPDATE conversations SET last_pos = 4, agent_delivered_pos = 3")
        )
        await connection.run_sync(_to("0003"))  # type: ignore[arg-type]
        rows = (
            await connection.execute(text("SELECT seq, type FROM conversation_events ORDER BY seq"))
        ).all()
        cursor = (
            await connection.execute(text("SELECT agent_delivered_seq FROM conversations"))
        ).scalar_one()
    assert [tuple(r) for r in rows] == [(1, "message"), (2, "message"), (3, "message")]
    assert cursor == 2
