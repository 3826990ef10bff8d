"""One access-log line and one metrics observation per request (timed to its answer); open WebSockets per tenant."""

from __future__ import annotations

import logging
import time

from starlette.requests import ClientDisconnect
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.metrics import Metrics

log = logging.getLogger("onebox.access")

# Logged and counted for a request whose client went away before its body was in (nginx's code).
CLIENT_GONE = 499


def route_label(scope: Scope, status: int) -> str:
    """The matched route template (bounded cardinality): ``static``, or ``unmatched``."""
    route = scope.get("route")
    if isinstance(route, Route | WebSocketRoute):
        return route.path or "/"
    if isinstance(route, Mount) and status < 400:
        return "static"
    return "unmatched"


class ObserveMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics, tenants: set[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.tenants = tenants
        for tenant in (*tenants, "gateway"):
            metrics.websockets.labels(tenant)  # every series from the start, at 0

    async def websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count a WebSocket as open from its accept until its handler returns."""
        gauge = self.metrics.websockets.labels(self.tenant_of(scope["path"]))
        accepted = False

        async def counting_send(message: Message) -> None:
            nonlocal accepted
            if message["type"] == "websocket.accept" and not accepted:
                accepted = True
                gauge.inc()
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            if accepted:
                gauge.dec()

    def tenant_of(self, path: str) -> str:
        first = path.split("/", 2)[1] if path.count("/") >= 1 else ""
        return first if first in self.tenants else "gateway"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self.websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        answered: float | None = None

        async def observing_send(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered = time.perf_counter()

        try:
            await self.app(scope, receive, observing_send)
        except ClientDisconnect:
            # Not the server's failure and no one to answer: the handler's transaction has rolled back.
            status = CLIENT_GONE
        finally:
            # Until the answer was sent: background tasks that run after it (a reset mail) are not
            # the client's wait, and counting them would let the logs tell which requests did more.
            elapsed = (answered or time.perf_counter()) - started
            tenant = self.tenant_of(scope["path"])
            route = route_label(scope, status)
            self.metrics.observe(tenant, route, scope["method"], status, elapsed)
            log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "tenant": tenant,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "request_id": scope.get("onebox.request_id"),
                },
            )
