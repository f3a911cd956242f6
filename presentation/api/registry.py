"""The typed route registry of the REST API.

Each endpoint is declared once, with its method, path, the scopes that may call it, the
pydantic models of its path parameters, query and body, its response model and a
summary. From those declarations the registry both serves the endpoint — validating
every request at the edge and serialising every response through its model — and
writes the OpenAPI document (``presentation.api.openapi``). So the document cannot
drift from what the server does.

A resource is a module with a ``Resource`` whose ``route`` decorator declares its
endpoints; ``presentation.api.resources`` lists the modules the API serves. A route may
also declare other media types and other success statuses (``presentation.api.media``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Generic, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError

from business.errors import Forbidden
from business.model import ApiKey, ApiKeyScope, TenantId
from business.services import Services
from presentation.api.media import JSON, Answer, Media, negotiate, write_media
from presentation.api.problems import ApiError, invalid
from presentation.errors import INVALID_INPUT

logger = logging.getLogger(__name__)

Method = Literal["GET", "POST", "PATCH", "PUT", "DELETE"]

READERS: Final = frozenset({ApiKeyScope.ADMIN, ApiKeyScope.READ})
ADMINS: Final = frozenset({ApiKeyScope.ADMIN})
READERS_AND_BOTS: Final = frozenset({ApiKeyScope.ADMIN, ApiKeyScope.READ, ApiKeyScope.BOT})
"""Who may read conversations: a bot too (any of its tenant's: a key is tied to no chat)."""
ADMINS_AND_BOTS: Final = frozenset({ApiKeyScope.ADMIN, ApiKeyScope.BOT})
"""Who may act in conversations (write, end, transfer): an external bot hands over."""
OPERATORS: Final = frozenset({ApiKeyScope.PLATFORM})


class Empty(BaseModel):
    """No path parameters, no query parameters, or no request body."""

    model_config = ConfigDict(extra="forbid")


class NoContent(BaseModel):
    """A 204 response: no body."""


class Body(BaseModel):
    """Base of request bodies: JSON types exactly as declared (no "5" for 5), and no
    field the model does not know."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Params(BaseModel):
    """Base of path and query parameters, which arrive as text: "5" is 5 here."""

    model_config = ConfigDict(extra="forbid")


P = TypeVar("P", bound=BaseModel)
Q = TypeVar("Q", bound=BaseModel)
B = TypeVar("B", bound=BaseModel)
R = TypeVar("R", bound=BaseModel)


@dataclass(frozen=True, slots=True, kw_only=True)
class Call(Generic[P, Q, B]):
    """One validated request, as a handler gets it."""

    request: web.Request
    services: Services
    key: ApiKey
    params: P
    query: Q
    body: B
    media: str = JSON
    """The media type the response is to have, chosen from the route's by ``Accept``:
    a handler of a route with other ``media`` answers a ``Media`` when it is not JSON."""

    @property
    def tenant_id(self) -> TenantId:
        """The tenant of the key: a tenant-scoped endpoint takes its tenant from here and
        from nowhere else (not the URL, not the body)."""
        if self.key.tenant_id is None:
            # Unreachable while tenant endpoints admit no platform scope; kept as a guard.
            raise Forbidden("a platform key belongs to no tenant")
        return self.key.tenant_id


Handler = Callable[[Call[P, Q, B]], Awaitable[R | Answer[R] | Media]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """One endpoint, as declared."""

    method: Method
    path: str
    """Below the API's prefix, with ``{name}`` for each path parameter."""
    operation_id: str
    summary: str
    description: str
    tag: str
    scopes: frozenset[ApiKeyScope]
    params: type[BaseModel]
    query: type[BaseModel]
    body: type[BaseModel]
    response: type[BaseModel]
    status: int
    errors: tuple[int, ...]
    """Problem statuses worth naming in the document besides the usual ones."""
    also: tuple[int, ...]
    """Other success statuses, with the same response (a handler's ``Answer``)."""
    media: tuple[str, ...]
    """Media types the response may have besides JSON (a handler's ``Media``)."""
    body_optional: bool
    """The body may be left out: ``{}`` is one (every field has a default)."""
    handler: Callable[[Call[Any, Any, Any]], Awaitable[BaseModel | Answer[Any] | Media]] = field(
        repr=False
    )
    audited: bool = True
    """A change made with an admin or platform key is written to the audit log once it
    succeeded; False: the handler's use case logs it itself (in its own transaction)."""

    @property
    def has_body(self) -> bool:
        return self.body is not Empty

    @property
    def has_content(self) -> bool:
        return self.response is not NoContent


class Resource:
    """The endpoints of one resource module, shown under one tag."""

    def __init__(self, tag: str, description: str) -> None:
        self.tag = tag
        self.description = description
        self.routes: list[Route] = []

    def route(
        self,
        method: Method,
        path: str,
        *,
        summary: str,
        scopes: Collection[ApiKeyScope],
        params: type[P],
        query: type[Q],
        body: type[B],
        response: type[R],
        status: int = 200,
        errors: Iterable[int] = (),
        also: Iterable[int] = (),
        media: Iterable[str] = (),
        audited: bool = True,
    ) -> Callable[[Handler[P, Q, B, R]], Handler[P, Q, B, R]]:
        """Declare the decorated coroutine as the handler of ``method path``. Its
        docstring is the operation's description; its name the operation id.

        ``also``: other success statuses the handler may answer with (``Answer``);
        ``media``: media types besides JSON it may answer in (``Media``)."""
        if not scopes:
            raise ValueError(f"{method} {path}: every endpoint needs a key of some scope")
        if (response is NoContent) != (status == 204):
            raise ValueError(f"{method} {path}: 204 exactly when the response is NoContent")
        if JSON in media:
            raise ValueError(f"{method} {path}: JSON is every route's media type already")

        def register(handler: Handler[P, Q, B, R]) -> Handler[P, Q, B, R]:
            self.routes.append(
                Route(
                    method=method,
                    path=path,
                    operation_id=handler.__name__,
                    summary=summary,
                    description=_doc(handler),
                    tag=self.tag,
                    scopes=frozenset(scopes),
                    params=params,
                    query=query,
                    body=body,
                    response=response,
                    status=status,
                    errors=tuple(errors),
                    also=tuple(also),
                    media=tuple(media),
                    body_optional=body is not Empty and _accepts_nothing(body),
                    handler=handler,
                    audited=audited,
                )
            )
            return handler

        return register


def _accepts_nothing(model: type[BaseModel]) -> bool:
    try:
        model.model_validate({})
    except ValidationError:
        return False
    return True


def _doc(handler: Callable[..., object]) -> str:
    doc = handler.__doc__ or ""
    lines = doc.strip().splitlines()
    # Docstrings are indented after their first line; the document wants plain text.
    return "\n".join(line.strip() for line in lines)


# -- serving ----------------------------------------------------------------------------


Authenticate = Callable[[web.Request], Awaitable[ApiKey]]


def request_handler(
    route: Route, services: Services, authenticate: Authenticate, max_body: int
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler of ``route``: key, scope, parameters, body, then the handler,
    then the response through the route's model. Errors propagate to the API's
    middleware, which answers them as problems."""

    async def handle(request: web.Request) -> web.StreamResponse:
        key = await authenticate(request)
        if key.scope not in route.scopes:
            allowed = " or ".join(sorted(s.value for s in route.scopes))
            raise Forbidden(f"this needs a key with scope {allowed}; this key's is {key.scope}")
        call = Call(
            request=request,
            services=services,
            key=key,
            params=_parse(route.params, "path", dict(request.match_info)),
            query=_parse(route.query, "query", _single_values(request)),
            body=await _body(route, request, max_body),
            media=negotiate(request.headers.get("Accept"), (JSON, *route.media)),
        )
        result = await route.handler(call)
        if route.method != "GET" and route.audited and key.scope in AUDITED_SCOPES:
            await _audit(route, call)
        status = route.status
        if isinstance(result, Media):
            if result.media_type not in route.media:
                raise TypeError(f"{route.operation_id} answered {result.media_type}")
            return await write_media(request, status, result)
        if isinstance(result, Answer):
            if result.status not in route.also:
                raise TypeError(f"{route.operation_id} answered status {result.status}")
            status, result = result.status, result.body
        if type(result) is not route.response:
            # A handler bug, not the client's: the document promised another shape.
            raise TypeError(f"{route.operation_id} returned {type(result).__name__}")
        if not route.has_content:
            return web.Response(status=204)
        return web.Response(status=status, body=result.model_dump_json(), content_type=JSON)

    return handle


AUDITED_SCOPES: Final = frozenset({ApiKeyScope.ADMIN, ApiKeyScope.PLATFORM})
"""Whose changes are administrators' actions; a bot's messages are conversation traffic."""


async def _audit(route: Route, call: Call[Any, Any, Any]) -> None:
    """The audit entry of a change that succeeded: the operation, the path it acted on
    and which body fields it gave (never their values: texts, addresses, secrets)."""
    given = sorted(call.body.model_fields_set) if route.has_body else []
    await call.services.audit.record(
        actor=f"apikey:{call.key.id}",
        action=route.operation_id,
        tenant_id=call.key.tenant_id,
        target=call.request.path,
        detail={"method": route.method, "fields": given} if given else {"method": route.method},
    )


def _parse(model: type[P], location: str, values: dict[str, str]) -> P:
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise invalid(location, error) from None


def _single_values(request: web.Request) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in request.query.items():
        if name in values:
            raise ApiError(INVALID_INPUT, f"query: {name} is given more than once")
        values[name] = value
    return values


async def _body(route: Route, request: web.Request, max_body: int) -> BaseModel:
    if not route.has_body:
        return Empty()
    if route.body_optional and not request.body_exists:
        return route.body.model_validate({})
    if request.content_type != "application/json":
        raise ApiError(
            INVALID_INPUT,
            f"the body must be JSON (Content-Type: application/json), not {request.content_type!r}",
            status=415,
        )
    if request.content_length is not None and request.content_length > max_body:
        raise _too_large(max_body)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(16384):
        size += len(chunk)
        if size > max_body:
            raise _too_large(max_body)
        chunks.append(chunk)
    try:
        return route.body.model_validate_json(b"".join(chunks))
    except ValidationError as error:
        raise invalid("body", error) from None


def _too_large(max_body: int) -> ApiError:
    return ApiError("too_large", f"the request body is larger than {max_body} bytes")


def all_routes(resources: Sequence[Resource]) -> list[Route]:
    """Every route of ``resources``; operation ids and (method, path) are unique."""
    routes = [route for resource in resources for route in resource.routes]
    seen: set[str] = set()
    for route in routes:
        for name in (route.operation_id, f"{route.method} {route.path}"):
            if name in seen:
                raise ValueError(f"{name} is declared twice")
            seen.add(name)
    return routes
