"""A fake web push service, and a browser-side subscriber that decrypts what it receives.

The service accepts ``POST /push/<token>`` (201) and answers 410 for tokens marked gone, as a
real push service does for an expired subscription. The subscriber holds the P-256 key pair
and auth secret a browser would, and decrypts the ``aes128gcm`` body with http_ece.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import http_ece
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.server import serve


def b64url(data: bytes) -> str:
    """Unpadded base64url, as the Push API encodes keys."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Subscriber:
    """What a browser keeps for one push subscription."""

    endpoint: str
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: secrets.token_bytes(16))

    @property
    def p256dh(self) -> str:
        """The subscription's public key (uncompressed point, base64url)."""
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)

    def decrypt(self, body: bytes) -> Any:
        """Decrypt an ``aes128gcm`` message and parse its JSON."""
        return orjson.loads(http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"))


class FakePushService:
    """Records deliveries per token; tokens in ``gone`` answer 410."""

    def __init__(self) -> None:
        self.gone: set[str] = set()
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.url = ""
        self.waiting = 0  # deliveries held by hold()
        self._open = asyncio.Event()
        self._open.set()

    def hold(self) -> None:
        """Keep deliveries waiting, as a slow service does, until :meth:`release`."""
        self._open.clear()

    def release(self) -> None:
        """Answer the held deliveries and the ones after."""
        self._open.set()

    def endpoint(self, token: str) -> str:
        """The endpoint URL of a subscription."""
        return f"{self.url}/push/{token}"

    async def _push(self, request: Request) -> Response:
        token = request.path_params["token"]
        self.waiting += 1
        try:
            await self._open.wait()
        finally:
            self.waiting -= 1
        if token in self.gone:
            return Response(status_code=410)
        self.received.append((token, dict(request.headers), await request.body()))
        return Response(status_code=201)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[FakePushService]:
        """Serve on a loopback port."""
        async with serve(Starlette(routes=[Route("/push/{token}", self._push, methods=["POST"])])) as url:
            self.url = url
            yield self


@asynccontextmanager
async def hanging_up() -> AsyncIterator[str]:
    """A push service that closes every connection without answering; its base URL."""

    async def hang_up(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()
