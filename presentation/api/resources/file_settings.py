"""``/file-settings``: what the tenant's visitors may upload (largest size, media types)
and how long its files are kept, as ``chat-engine tenant files`` changes them.

Through ``FileConfigService``; ``business.file_config.checked_limits`` checks every
value and names the first problem.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from business.file_config import ConfigureFiles
from business.file_model import MAX_RETENTION_DAYS, FileLimits
from presentation.api.registry import ADMINS, Body, Call, Empty, Resource

resource = Resource(
    "file-settings",
    "Files visitors upload: the largest size, the accepted media types, and how many "
    "days files are kept before the engine deletes them (their links then answer "
    "`410 Gone`).",
)

MediaType = Annotated[str, StringConstraints(min_length=3, max_length=255)]


class FileSettingsIn(Body):
    max_bytes: int | None = Field(
        None, ge=1, le=2**62, description="the largest file a visitor may upload, in bytes"
    )
    allowed_types: list[MediaType] | None = Field(
        None,
        max_length=200,
        description="every media type visitors may upload (e.g. `image/png`), replacing the "
        "stored ones; never `image/svg+xml`; `[]`: no uploads",
    )
    retention_days: int | None = Field(
        None,
        ge=0,
        le=MAX_RETENTION_DAYS,
        description="delete files this many days after their upload; `0`: keep them for ever",
    )


class FileSettingsOut(BaseModel):
    max_bytes: int
    allowed_types: list[str]
    retention_days: int | None = Field(description="null: files are kept for ever")


def settings_out(limits: FileLimits) -> FileSettingsOut:
    return FileSettingsOut(
        max_bytes=limits.max_bytes,
        allowed_types=list(limits.allowed_types),
        retention_days=limits.retention_days,
    )


@resource.route(
    "GET",
    "/file-settings",
    summary="Read the file settings",
    scopes=ADMINS,
    params=Empty,
    query=Empty,
    body=Empty,
    response=FileSettingsOut,
)
async def get_file_settings(call: Call[Empty, Empty, Empty]) -> FileSettingsOut:
    """Upload limits and retention; a tenant that never changed them has the defaults
    (10 MiB, common images and office documents, kept for ever)."""
    return settings_out(await call.services.file_config.get(call.tenant_id))


@resource.route(
    "PATCH",
    "/file-settings",
    summary="Change the file settings",
    scopes=ADMINS,
    params=Empty,
    query=Empty,
    body=FileSettingsIn,
    response=FileSettingsOut,
)
async def patch_file_settings(call: Call[Empty, Empty, FileSettingsIn]) -> FileSettingsOut:
    """What the body gives changes; `allowed_types` replaces all the types. Files
    already stored keep their links until their retention ends."""
    body = call.body
    stored = await call.services.file_config.configure(
        ConfigureFiles(
            tenant_id=call.tenant_id,
            max_bytes=body.max_bytes,
            allowed_types=body.allowed_types,
            retention_days=body.retention_days,
        )
    )
    return settings_out(stored)
