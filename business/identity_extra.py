"""A tenant's map from identity extra keys to custom fields
(``IdentitySettings.extra_fields``, e.g. ``plan`` -> ``Customer plan``).

- ``ChatEngine.identify()``'s ``extra`` values are custom fields of the visitor's open
  conversations: a mapped key under its field name, an unmapped one under its own name
  (as before maps existed, so a tenant without a map sees no change).
- A signed identity's ``extra`` claims stay on the identity (``!info`` shows them as
  verified, the REST API's visitor as ``identity.extra``); a mapped one is also a custom
  field of each conversation the visitor starts (the offer, ``!info``, rules, the REST
  API and webhooks read it there), over what the page gave under that name: the
  company's word wins. Unmapped claims become no custom field, as before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from business.identity_model import VisitorIdentity
from business.model import TenantId, VisitorContext, VisitorId
from business.transactions import Transaction


def mapped(extra_fields: Mapping[str, str], key: str) -> str:
    """The custom field ``key``'s value is stored as: its mapped name, else ``key``."""
    return extra_fields.get(key, key)


def signed_fields(
    extra_fields: Mapping[str, str], identity: VisitorIdentity | None
) -> dict[str, str]:
    """The custom fields a signed identity gives: its mapped extra claims only."""
    if identity is None:
        return {}
    return {
        name: identity.extra[key] for key, name in extra_fields.items() if key in identity.extra
    }


def with_signed_fields(context: VisitorContext, fields: Mapping[str, str]) -> VisitorContext:
    """``context`` whose custom fields hold ``fields`` over the page's own values."""
    if all(context.custom.get(key) == value for key, value in fields.items()):
        return context
    return dataclasses.replace(context, custom={**context.custom, **fields})


async def signed_context(
    tx: Transaction, tenant_id: TenantId, visitor_id: VisitorId, context: VisitorContext
) -> VisitorContext:
    """A new conversation's context with its visitor's mapped signed claims (an
    anonymous visitor's, or a tenant's without a map, as it is: one read more)."""
    identity = await tx.visitor_identities.get_for_visitor(visitor_id)
    if identity is None or not identity.extra:
        return context
    settings = await tx.identity_settings.get(tenant_id)
    if settings is None or not settings.extra_fields:
        return context
    return with_signed_fields(context, signed_fields(settings.extra_fields, identity))
