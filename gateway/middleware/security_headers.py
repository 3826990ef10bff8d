"""Security headers on every HTTP response; HSTS only when the request came over TLS."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https:; connect-src 'self' ws: wss:; font-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
HSTS = "max-age=31536000; includeSubDomains"
# Encoded once: this runs on every response.
RAW = [(name.encode(), value.encode()) for name, value in HEADERS.items()]
RAW_TLS = [*RAW, (b"strict-transport-security", HSTS.encode())]


def add_missing(headers: list[tuple[bytes, bytes]], defaults: list[tuple[bytes, bytes]]) -> None:
    """Append each default header the response did not set itself (names are lower-case in ASGI)."""
    present = {name for name, _ in headers}
    headers.extend(pair for pair in defaults if pair[0] not in present)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, trust_proxy: bool = False) -> None:
        self.app = app
        self.trust_proxy = trust_proxy

    def _is_tls(self, scope: Scope) -> bool:
        if scope.get("scheme") in ("https", "wss"):
            return True
        if self.trust_proxy:
            return any(k == b"x-forwarded-proto" and v == b"https" for k, v in scope["headers"])
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        defaults = RAW_TLS if self._is_tls(scope) else RAW

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                if not isinstance(headers, list):
                    headers = message["headers"] = list(headers)
                add_missing(headers, defaults)
            await send(message)

        await self.app(scope, receive, send_with_headers)
