"""Per-client-IP rate limits, stricter on sign-in endpoints; 429 with Retry-After."""

from __future__ import annotations

import math

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.middleware.send_error import send_error
from shared.errors import ApiError
from shared.http.client_ip import client_ip
from shared.ratelimit import KeyedRateLimiter

AUTH_MARKERS = (
    "/api/auth/",
    "/xrpc/com.atproto.server.createSession",
    "/xrpc/com.atproto.server.refreshSession",
)
EXEMPT = ("/health", "/metrics")


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, per_minute: int, auth_per_minute: int, trust_proxy: bool = False) -> None:
        self.app = app
        self.general = KeyedRateLimiter(per_minute)
        self.auth = KeyedRateLimiter(auth_per_minute)
        self.trust_proxy = trust_proxy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].endswith(EXEMPT):
            await self.app(scope, receive, send)
            return
        ip = client_ip(scope, self.trust_proxy)
        path = scope["path"]
        limiter = self.auth if scope["method"] == "POST" and any(m in path for m in AUTH_MARKERS) else self.general
        wait = limiter.allow(ip)
        if wait > 0:
            error = ApiError(
                429,
                "rate_limited",
                "Too many requests; slow down.",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
            await send_error(scope, send, error)
            return
        await self.app(scope, receive, send)
