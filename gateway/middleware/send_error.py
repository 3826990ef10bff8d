"""Answer an ApiError directly from pure ASGI middleware (outside the exception handlers)."""

from __future__ import annotations

import orjson
from starlette.types import Scope, Send

from shared.errors import ApiError, is_xrpc


async def send_error(scope: Scope, send: Send, error: ApiError) -> None:
    """Send ``error`` as a complete JSON response, in XRPC's shape on an XRPC path."""
    body = orjson.dumps(error.xrpc_body() if is_xrpc(scope["path"]) else error.body())
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
