"""Migrated PostgreSQL schemas used again by later tests of the same process.

Making a schema from the template script and dropping it afterwards is DDL on some
thirty tables and their indexes: 0.3 s to over a second a test on a busy machine, for
some 800 tests. Emptying the tables again takes a few milliseconds, so a schema whose
test is over is emptied, given its seed rows and sequence positions back (those of the
template script), and handed to the next test, but only when its structure is exactly
the template's: a schema a test changed (a table dropped to make writes fail, ...) or
one that cannot be emptied is dropped as before. The schemas still free at the end of
the session are dropped (``drop_free``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

# Everything that makes up a schema's structure, without the schema's own name (which
# foreign keys and defaults name), so that a copy of the template has its fingerprint.
_FINGERPRINT = """
SELECT md5(replace(coalesce(string_agg(x, ',' ORDER BY x), ''), $1 || '.', '')) FROM (
  SELECT concat_ws(':', 'rel', c.relname::text, c.relkind::text, a.attname::text,
                   format_type(a.atttypid, a.atttypmod), a.attnotnull::text,
                   pg_get_expr(d.adbin, d.adrelid)) AS x
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
  WHERE n.nspname = $1
  UNION ALL
  SELECT concat_ws(':', 'con', conname::text, contype::text, pg_get_constraintdef(oid))
  FROM pg_constraint
  WHERE connamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)
  UNION ALL
  SELECT concat_ws(':', 'trg', t.tgname::text) FROM pg_trigger t
  JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND NOT t.tgisinternal
  UNION ALL
  SELECT concat_ws(':', 'fn', p.proname::text) FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1
  UNION ALL
  SELECT concat_ws(':', 'type', t.typname::text) FROM pg_type t
  JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = $1
) AS parts
"""

# pg_dump writes each row and each sequence position as one statement on its own line.
_SEED = re.compile(r"^(?:INSERT INTO .*?;|SELECT pg_catalog\.setval\(.*?\);)$", re.M | re.S)


@dataclass
class SchemaPool:
    """The process's free schemas, and what a pristine copy of the template looks like."""

    template_name: str
    free: list[str] = field(default_factory=list)
    fingerprint: str | None = None
    tables: tuple[str, ...] = ()
    seed: str = ""
    usable: bool | None = None
    """Whether schemas can be used again: emptying tables regardless of their foreign
    keys (``session_replication_role``) needs a superuser; None until checked."""

    def take(self) -> str | None:
        return self.free.pop() if self.usable and self.free else None

    async def learn(self, raw: Any, schema: str, script: str) -> None:
        """Records the structure of ``schema``, a copy of the template just made."""
        if self.usable is not None:
            return
        self.usable = False
        try:
            superuser = await raw.fetchval(
                "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
            )
            self.fingerprint = await raw.fetchval(_FINGERPRINT, schema)
            rows = await raw.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1", schema
            )
        except Exception:  # then every test makes and drops a schema, as before
            return
        self.tables = tuple(row["tablename"] for row in rows)
        self.seed = "\n".join(_SEED.findall(script))
        self.usable = bool(superuser) and bool(self.tables)

    async def give_back(self, connection: AsyncConnection, schema: str) -> bool:
        """Empties ``schema`` for the next test; False (and nothing kept) when its
        structure is not the template's or it cannot be emptied: then drop it."""
        if not self.usable:
            return False
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        try:
            if await raw.fetchval(_FINGERPRINT, schema) != self.fingerprint:
                return False
            deletes = "".join(f'DELETE FROM "{schema}"."{table}";' for table in self.tables)
            await raw.execute(
                "BEGIN; SET LOCAL session_replication_role = replica;"
                " SET LOCAL lock_timeout = '10s';"
                f"{deletes}{self.seed.replace(self.template_name, schema)}; COMMIT;"
            )
        except Exception:  # any failure: the schema is dropped instead
            if not raw.is_closed():
                await raw.execute("ROLLBACK")
            return False
        self.free.append(schema)
        return True
