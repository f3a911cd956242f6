"""Which key scope may call which endpoint: every route, called with a key of every
scope, is refused with 403 exactly when its scope is not among the route's. And the
integrator guide's matrix for the conversation, visitor and report endpoints is what
the routes declare."""

from __future__ import annotations

import pytest

from business.model import ApiKeyScope
from presentation.api.registry import Route, all_routes
from presentation.api.resources import RESOURCES
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import Keys
from tests.presentation.api.test_isolation import BODIES

ROUTES = all_routes(RESOURCES)
A, R, B = ApiKeyScope.ADMIN, ApiKeyScope.READ, ApiKeyScope.BOT

GUIDE = {
    "list_conversations": {A, R, B},
    "get_conversation": {A, R, B},
    "list_conversation_events": {A, R, B},
    "list_internal_events": {A},
    "get_transcript": {A, R, B},
    "post_conversation_message": {A, B},
    "end_conversation": {A, B},
    "transfer_conversation": {A, B},
    "open_thread": {A, B},
    "open_thread_to_visitor": {A, B},
    "get_visitor": {A, R},
    "list_visitor_conversations": {A, R},
    "list_conversation_reports": {A, R},
    "get_conversation_report": {A, R},
    "list_queue_days": {A, R},
    "list_trigger_figures": {A, R},
    "list_page_view_days": {A, R},
    "post_api_channel_message": {A, B},
}
"""docs/integrator-guide.md, "Keys": keep the two in step."""


def test_the_guides_matrix_is_what_the_routes_declare() -> None:
    declared = {route.operation_id: set(route.scopes) for route in ROUTES}
    assert {name: declared[name] for name in GUIDE} == GUIDE
    # Nothing else a bot may call: the rest is admin's, read's or the operator's.
    assert {name for name, scopes in declared.items() if B in scopes} == {
        name for name, scopes in GUIDE.items() if B in scopes
    }


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.operation_id)
async def test_a_key_of_another_scope_is_refused(api: ApiClient, keys: Keys, route: Route) -> None:
    path = route.path.replace("{", "").replace("}", "")  # nothing of that name exists
    kwargs = {"json": BODIES[route.operation_id]} if route.has_body else {}
    for scope, key in ((A, keys.admin), (R, keys.read), (B, keys.bot), (None, keys.platform)):
        reply = await api.call(route.method, path, key=key, **kwargs)
        allowed = (scope or ApiKeyScope.PLATFORM) in route.scopes
        if allowed:
            assert reply.status != 403, (route.operation_id, scope, reply.body)
        else:
            assert "scope" in reply.problem(403, "forbidden"), (route.operation_id, scope)
