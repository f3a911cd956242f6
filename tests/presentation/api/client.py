"""A small client of the REST API for tests: every call returns status, JSON and headers."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

Json = Any
PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}


@dataclass(frozen=True, kw_only=True)
class Reply:
    status: int
    body: Json
    """The parsed JSON (None for an empty body)."""
    content_type: str
    headers: Mapping[str, str]

    def problem(self, status: int, code: str) -> str:
        """Assert this is the RFC 9457 problem ``status``/``code``; returns its detail."""
        assert self.status == status, (self.status, self.body)
        assert self.content_type == "application/problem+json", self.content_type
        assert set(self.body) >= PROBLEM_FIELDS, self.body
        assert self.body["status"] == status
        assert self.body["code"] == code, self.body
        assert self.body["type"] == "about:blank"
        assert isinstance(self.body["title"], str)
        assert self.body["title"]
        assert isinstance(self.body["detail"], str)
        assert self.body["detail"]
        return str(self.body["detail"])


_NO_BODY = object()


class ApiClient:
    def __init__(self, base: str, http: aiohttp.ClientSession) -> None:
        self.base = base
        self.http = http

    async def call(
        self,
        method: str,
        path: str,
        *,
        key: str | None = None,
        json: object = _NO_BODY,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | list[tuple[str, str]] | None = None,
    ) -> Reply:
        sent = dict(headers or {})
        if key is not None:
            sent.setdefault("Authorization", f"Bearer {key}")
        if json is not _NO_BODY:
            data = jsonlib.dumps(json).encode()
            sent.setdefault("Content-Type", "application/json")
        async with self.http.request(
            method, self.base + path, data=data, headers=sent, params=params
        ) as response:
            raw = await response.read()
            return Reply(
                status=response.status,
                body=jsonlib.loads(raw) if raw else None,
                content_type=response.content_type,
                headers=dict(response.headers),
            )

    async def get(self, path: str, key: str | None, **kwargs: Any) -> Reply:
        return await self.call("GET", path, key=key, **kwargs)

    async def post(self, path: str, key: str | None, json: object, **kwargs: Any) -> Reply:
        return await self.call("POST", path, key=key, json=json, **kwargs)

    async def patch(self, path: str, key: str | None, json: object, **kwargs: Any) -> Reply:
        return await self.call("PATCH", path, key=key, json=json, **kwargs)

    async def delete(self, path: str, key: str | None, **kwargs: Any) -> Reply:
        return await self.call("DELETE", path, key=key, **kwargs)

    async def all_items(self, path: str, key: str, *, limit: int = 2) -> list[Json]:
        """Every item of a list, page by page."""
        items: list[Json] = []
        cursor: str | None = None
        while True:
            params = {"limit": str(limit)} | ({"cursor": cursor} if cursor else {})
            reply = await self.get(path, key, params=params)
            assert reply.status == 200, reply.body
            assert len(reply.body["items"]) <= limit
            items += reply.body["items"]
            cursor = reply.body["next_cursor"]
            if cursor is None:
                return items
