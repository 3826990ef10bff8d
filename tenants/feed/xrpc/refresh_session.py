"""``com.atproto.server.refreshSession``: a new session pair for the refresh JWT in Authorization."""

from __future__ import annotations

from starlette.responses import Response

from shared.errors import ApiError
from shared.http.responses import json_response
from tenants.feed.db import acquire
from tenants.feed.xrpc.base import Call, Method, invalid
from tenants.feed.xrpc.session_tokens import refresh_token_of, session_pair


async def handle(call: Call) -> Response:
    refresh_token = refresh_token_of(call)
    try:
        did, rotated = await call.av.xrpc_refresh.rotate(call.av.ctx.db, refresh_token)
    except ApiError:
        raise invalid("Token has been revoked", "ExpiredToken") from None
    async with acquire(call.av.ctx) as conn:
        handle_ = await conn.fetchval("SELECT handle FROM members WHERE did = $1", did)
    if handle_ is None:
        # InvalidToken is the lexicon's error that makes clients drop the session (the PDS says InvalidRequest).
        raise invalid("The account is no longer a member", "InvalidToken")
    return json_response(session_pair(call.av, did, handle_, rotated))


METHOD = Method("procedure", handle)
