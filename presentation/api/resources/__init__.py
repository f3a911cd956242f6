"""The resources the REST API serves, in the order the document lists them.

A new resource is a new module here with a ``resource`` (``registry.Resource``) whose
``route`` decorator declares its endpoints, and one more entry in ``RESOURCES``. Two
modules may share a tag (the document lists it once, with the first one's
description).
"""

from __future__ import annotations

from presentation.api.registry import Resource
from presentation.api.resources import (
    agents,
    analytics,
    api_keys,
    audit_log,
    canned,
    channels,
    conversation_actions,
    conversations,
    file_settings,
    identity_settings,
    queues,
    redaction_settings,
    reports,
    retention_settings,
    tenants,
    thread_actions,
    visitor_data,
    visitors,
    webhooks,
    widget_config,
)

RESOURCES: tuple[Resource, ...] = (
    conversations.resource,
    conversation_actions.resource,
    thread_actions.resource,
    channels.resource,
    visitors.resource,
    visitor_data.resource,
    reports.resource,
    analytics.resource,
    queues.resource,
    agents.resource,
    canned.resource,
    webhooks.resource,
    widget_config.resource,
    identity_settings.resource,
    file_settings.resource,
    redaction_settings.resource,
    retention_settings.resource,
    api_keys.resource,
    audit_log.resource,
    tenants.resource,
)
