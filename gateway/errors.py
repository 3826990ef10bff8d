"""Exception handlers that answer every error in the shared JSON shape."""

from __future__ import annotations

import logging

import asyncpg
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from shared.db.nul import is_nul_refusal, nul_error
from shared.db.sqlstate import lost_race
from shared.errors import ApiError, is_xrpc
from shared.http.responses import json_response

log = logging.getLogger("onebox.errors")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
}


def error_response(error: ApiError, path: str = "") -> Response:
    """Render an ApiError (in XRPC's shape when ``path`` is an XRPC endpoint)."""
    body = error.xrpc_body() if is_xrpc(path) else error.body()
    return json_response(body, status=error.status, headers=error.headers)


async def api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc, request.url.path)


async def http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _CODES.get(exc.status_code, "http_error")
    message = exc.detail if exc.status_code != 404 else "No such resource."
    if exc.status_code == 405:
        message = "This method is not allowed here."
    error = ApiError(exc.status_code, code, str(message), headers=dict(exc.headers or {}))
    return error_response(error, request.url.path)


async def database_refusal(conn: HTTPConnection, exc: Exception) -> Response:
    """A NUL character that reached PostgreSQL (in a path or query parameter) is bad input; a
    transaction that lost a race with a concurrent one is answered as such (:func:`lost_race`); the
    rest is ours."""
    if conn.scope["type"] == "http":
        if is_nul_refusal(exc):
            return error_response(nul_error(), conn.url.path)
        if (error := lost_race(exc)) is not None:
            log.warning(
                "%s %s: lost a race with a concurrent transaction: %s", conn.scope["method"], conn.url.path, exc
            )
            return error_response(error, conn.url.path)
    raise exc


HANDLERS = {
    ApiError: api_error,
    HTTPException: http_exception,
    asyncpg.PostgresError: database_refusal,
    DBAPIError: database_refusal,
}
