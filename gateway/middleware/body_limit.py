"""Cap request bodies: 413 on a declared or streamed body over the limit, without reading it all."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.middleware.send_error import send_error
from shared.digits import ascii_int
from shared.errors import ApiError


def too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"The request body is larger than {limit} bytes.")


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = ascii_int(value)
                if length is None:
                    await send_error(scope, send, ApiError(400, "bad_request", "Content-Length is not a number."))
                    return
                if length > self.limit:
                    await send_error(scope, send, too_large(self.limit))
                    return
                break
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    # Raised inside the endpoint's body read, so the error handlers answer 413.
                    raise too_large(self.limit)
            return message

        await self.app(scope, counting_receive, send)
