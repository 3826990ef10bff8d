"""``/<tenant>/openapi.json``: an OpenAPI 3.1 document built from the tenant's routes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shared.http.responses import json_response

_PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")


def document(name: str, description: str, routes: Sequence[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI document for one tenant mounted at ``/<name>``."""
    paths: dict[str, Any] = {}
    for route in routes:
        if not isinstance(route, Route) or not route.include_in_schema:
            continue
        path = f"/{name}" + _PARAM.sub(r"{\1}", route.path)
        doc = (route.endpoint.__doc__ or "").strip()
        summary = doc.splitlines()[0] if doc else route.name
        params = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in _PARAM.findall(route.path)
        ]
        for method in sorted((route.methods or set()) - {"HEAD"}):
            paths.setdefault(path, {})[method.lower()] = {
                "summary": summary,
                "description": doc,
                "parameters": params,
                "responses": {"default": {"description": "JSON; errors as {error: {code, message}}"}},
            }
    return {
        "openapi": "3.1.0",
        "info": {"title": f"onebox {name}", "version": "1", "description": description},
        "paths": paths,
    }


def endpoint(name: str, description: str, routes: Sequence[BaseRoute]) -> Any:
    """``GET /<tenant>/openapi.json`` (built once)."""
    cached = document(name, description, routes)

    async def openapi(_request: Request) -> Response:
        return json_response(cached)

    return openapi
