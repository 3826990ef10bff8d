"""``POST /seacalendar/discord/interactions``: Discord's slash commands, verified with Ed25519.

Discord signs ``timestamp + body`` with the application's key; anything unsigned, mis-signed or
older than five minutes is refused with 401 before the body is even parsed.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.errors import ApiError
from shared.http.responses import json_response
from shared.tenant import TenantContext
from tenants.seacalendar import commands
from tenants.seacalendar.settings import sea_settings

MAX_SKEW = 300
PING, APPLICATION_COMMAND = 1, 2


def _invalid(message: str) -> ApiError:
    return ApiError(401, "invalid_signature", message)


def verify(public_key_hex: str, signature_hex: str | None, timestamp: str | None, body: bytes) -> None:
    """Raise 401 unless ``signature`` is the key's Ed25519 signature of ``timestamp + body`` and fresh."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if not signature_hex or not timestamp:
        raise _invalid("X-Signature-Ed25519 and X-Signature-Timestamp are required.")
    # isdigit() alone takes "²", which int() refuses: ASCII digits only, and a sane length.
    if (
        not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12)
        or abs(time.time() - int(timestamp)) > MAX_SKEW
    ):
        raise _invalid("The signature timestamp is missing or not recent.")
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
        key.verify(bytes.fromhex(signature_hex), timestamp.encode() + body)
    except (ValueError, InvalidSignature):
        raise _invalid("The request signature is invalid.") from None


def routes(ctx: TenantContext) -> list[Route]:
    """The interactions endpoint."""
    settings = sea_settings(ctx)

    async def interactions(request: Request) -> Response:
        """Discord's interactions webhook (slash commands /poll create, /poll list, /qotw answer)."""
        if not settings.discord_public_key:
            raise ApiError(
                503, "discord_not_configured", "ONEBOX_DISCORD_PUBLIC_KEY is not set.", headers={"Retry-After": "3600"}
            )
        body = await request.body()
        verify(
            settings.discord_public_key,
            request.headers.get("x-signature-ed25519"),
            request.headers.get("x-signature-timestamp"),
            body,
        )
        try:
            payload: Any = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise ApiError(400, "malformed_json", "The interaction is not valid JSON.") from None
        if not isinstance(payload, dict):
            raise ApiError(400, "bad_interaction", "The interaction must be a JSON object.")
        kind = payload.get("type")
        if kind == PING:
            return json_response({"type": 1})
        if kind != APPLICATION_COMMAND:
            raise ApiError(400, "unsupported_interaction", f"Interaction type {kind!r} is not handled.")
        return json_response(await commands.handle(ctx, settings, payload))

    return [Route("/discord/interactions", interactions, methods=["POST"])]
