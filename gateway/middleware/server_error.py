"""Answer an unexpected exception with 500 in the shared shape, inside the request-id and header layers.

Starlette's own last-resort handler runs outside every middleware, so its 500 lacked the
``X-Request-ID`` and security headers every other answer carries, and under a path alias (whose
scope is a copy) it could not even name the request id.
"""

from __future__ import annotations

import logging

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.middleware.send_error import send_error
from shared.errors import ApiError

log = logging.getLogger("onebox.errors")


class ServerErrorMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ClientDisconnect:
            raise  # the client left mid-request: no error of ours, and no one to answer (see observe)
        except Exception as exc:
            request_id = scope.get("onebox.request_id", "-")
            log.error("unhandled error on %s %s [%s]", scope["method"], scope["path"], request_id, exc_info=exc)
            if started:
                raise  # the answer is half sent; only the server can end the connection
            error = ApiError(500, "internal_error", "Something went wrong on our side.", {"request_id": request_id})
            await send_error(scope, send, error)
