"""Widget configurations, one per tenant (``business.widget_config_ports``)."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from business.model import TenantId
from business.widget_config import WidgetConfig
from data.models_widget import WidgetConfigRow
from data.repositories.base import SqlContext


class SqlWidgetConfigRepository:
    """``business.widget_config_ports.WidgetConfigRepository`` through the unit of work's
    ORM session (configuration, read once per page view at most through the loader's
    cacheable read: nothing is cached here)."""

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def get(self, tenant_id: TenantId) -> WidgetConfig | None:
        row = await (await self._ctx.orm()).get(WidgetConfigRow, tenant_id, populate_existing=True)
        if row is None:
            return None
        return WidgetConfig(
            tenant_id=TenantId(row.tenant_id), document=row.document, updated_at=row.updated_at
        )

    async def put(self, config: WidgetConfig) -> None:
        # One statement, so two first writes at once cannot both insert.
        values = {
            "tenant_id": config.tenant_id,
            "document": dict(config.document),
            "updated_at": config.updated_at,
        }
        changed = {"document", "updated_at"}
        session = await self._ctx.orm()
        if self._ctx.dialect == "postgresql":
            pg = postgresql_insert(WidgetConfigRow).values(values)
            await session.execute(
                pg.on_conflict_do_update(
                    index_elements=[WidgetConfigRow.tenant_id],
                    set_={name: pg.excluded[name] for name in changed},
                )
            )
        else:
            lite = sqlite_insert(WidgetConfigRow).values(values)
            await session.execute(
                lite.on_conflict_do_update(
                    index_elements=[WidgetConfigRow.tenant_id],
                    set_={name: lite.excluded[name] for name in changed},
                )
            )
