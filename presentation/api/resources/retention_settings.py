"""``/retention-settings``: how long the tenant's ended conversations and idle visitors
are kept, as ``chat-engine tenant retention`` changes them (``business.retention``).
Files have their own retention (``/file-settings``)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from business.file_model import MAX_RETENTION_DAYS
from business.governance_ports import RetentionSettings
from business.retention import ConfigureRetention
from presentation.api.registry import ADMINS, Body, Call, Empty, Resource

resource = Resource(
    "retention-settings",
    "How long data is kept: ended conversations (with their events, files, transcript "
    "mails and offline messages) and visitors with no conversation left. The engine "
    "deletes what is older in the background.",
)


class RetentionSettingsIn(Body):
    conversations_days: int | None = Field(
        None,
        ge=0,
        le=MAX_RETENTION_DAYS,
        description="delete ended conversations this many days after their end; `0`: keep "
        "them for ever",
    )
    visitors_days: int | None = Field(
        None,
        ge=0,
        le=MAX_RETENTION_DAYS,
        description="delete visitors with no conversation left this many days after they "
        "were last seen; `0`: keep them for ever",
    )


class RetentionSettingsOut(BaseModel):
    conversations_days: int | None = Field(description="null: kept for ever")
    visitors_days: int | None = Field(description="null: kept for ever")


def settings_out(kept: RetentionSettings) -> RetentionSettingsOut:
    return RetentionSettingsOut(
        conversations_days=kept.conversations_days, visitors_days=kept.visitors_days
    )


@resource.route(
    "GET",
    "/retention-settings",
    summary="Read the retention settings",
    scopes=ADMINS,
    params=Empty,
    query=Empty,
    body=Empty,
    response=RetentionSettingsOut,
)
async def get_retention_settings(call: Call[Empty, Empty, Empty]) -> RetentionSettingsOut:
    """A tenant that never changed them keeps everything for ever."""
    return settings_out(await call.services.retention_settings.get(call.tenant_id))


@resource.route(
    "PATCH",
    "/retention-settings",
    summary="Change the retention settings",
    scopes=ADMINS,
    params=Empty,
    query=Empty,
    body=RetentionSettingsIn,
    response=RetentionSettingsOut,
)
async def patch_retention_settings(
    call: Call[Empty, Empty, RetentionSettingsIn],
) -> RetentionSettingsOut:
    """What the body gives changes; the rest stays. A shorter retention applies at the
    engine's next purge round."""
    stored = await call.services.retention_settings.configure(
        ConfigureRetention(
            tenant_id=call.tenant_id,
            conversations_days=call.body.conversations_days,
            visitors_days=call.body.visitors_days,
        )
    )
    return settings_out(stored)
