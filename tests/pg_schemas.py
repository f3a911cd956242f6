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

# A schema's tables, indexes, sequences and types with their column counts (which count
# dropped columns too), its constraints, triggers and functions: what a test that changes
# the structure changes. Names only within the schema, so a copy has the template's.
_FINGERPRINT = """
SELECT md5(coalesce(string_agg(x, ',' ORDER BY x), '')) FROM (
  SELECT concat_ws(':', 'rel', relname::text, relkind::text, relnatts::text) AS x
  FROM pg_class WHERE relnamespace = $1::regnamespace
  UNION ALL
  SELECT concat_ws(':', 'con', conname::text, contype::text) FROM pg_constraint
  WHERE connamespace = $1::regnamespace
  UNION ALL
  SELECT concat_ws(':', 'trg', t.tgname::text) FROM pg_trigger t
  JOIN pg_class c ON c.oid = t.tgrelid
  WHERE c.relnamespace = $1::regnamespace AND NOT t.tgisinternal
  UNION ALL
  SELECT concat_ws(':', 'fn', proname::text) FROM pg_proc WHERE pronamespace = $1::regnamespace
  UNION ALL
  SELECT concat_ws(':', 'type', typname::text) FROM pg_type WHERE typnamespace = $1::regnamespace
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
