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


async def extra_map(tx: Transaction, tenant_id: TenantId) -> Mapping[str, str]:
    """The tenant's map of signed extra claims to custom fields (empty: none)."""
    settings = await tx.identity_settings.get(tenant_id)
    return {} if settings is None else settings.extra_fields


async def signed_context(
    tx: Transaction,
    extra_fields: Mapping[str, str],
    visitor_id: VisitorId,
    context: VisitorContext,
) -> VisitorContext:
    """A new conversation's context with its visitor's mapped signed claims;
    ``extra_fields``: the tenant's map (``extra_map``). Without a map, as it is and no
    read: a start batch reads the map once per tenant, and only a tenant that maps
    claims pays a read of the visitor's identity per new conversation."""
    if not extra_fields:
        return context
    identity = await tx.visitor_identities.get_for_visitor(visitor_id)
    if identity is None or not identity.extra:
        return context
    return with_signed_fields(context, signed_fields(extra_fields, identity))
