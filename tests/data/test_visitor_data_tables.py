"""Every table that can hold a visitor's data is known to the export, the erasure and
the retention (``data.repositories.visitor_data``): a new table with a ``visitor_id``
or ``conversation_id`` column fails here until it is listed there (and handled)."""

from __future__ import annotations

from data.models import Base
from data.repositories.visitor_data import CONVERSATION_TABLES, KEPT_TABLES, VISITOR_TABLES


def test_every_table_holding_a_visitors_data_is_listed() -> None:
    holding = {
        table.name
        for table in Base.metadata.sorted_tables
        if {"visitor_id", "conversation_id"} & set(table.columns.keys())
    }
    listed = VISITOR_TABLES | CONVERSATION_TABLES | KEPT_TABLES
    assert holding - {"visitors"} <= listed, holding - listed
    # And nothing listed is stale.
    assert listed <= {t.name for t in Base.metadata.sorted_tables}
    # What is kept through an erasure holds no name, address or text.
    for name in KEPT_TABLES:
        columns = set(Base.metadata.tables[name].columns.keys())
        assert not {c for c in columns if "name" in c and not c.startswith("agent")}, name
        assert not {"text", "email", "address", "form", "context"} & columns, name
