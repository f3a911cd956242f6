"""The resources the REST API serves, in the order the document lists them.

A new resource is a new module here with a ``resource`` (``registry.Resource``) whose
``route`` decorator declares its endpoints, and one more entry in ``RESOURCES``.
"""

from __future__ import annotations

from presentation.api.registry import Resource
from presentation.api.resources import agents, api_keys, canned, queues, tenants, webhooks

RESOURCES: tuple[Resource, ...] = (
    queues.resource,
    agents.resource,
    canned.resource,
    webhooks.resource,
    api_keys.resource,
    tenants.resource,
)
