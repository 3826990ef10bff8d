"""``com.atproto.server.deleteSession``: sign out, with the refresh JWT in Authorization.

The sign-in's refresh tokens are revoked (its access JWT lapses within two hours, as a PDS's
does); the member's last sign-in takes their stored PDS session with it.
"""

from __future__ import annotations

from starlette.responses import Response

from tenants.feed.xrpc.base import Call, Method
from tenants.feed.xrpc.session_tokens import refresh_token_of


async def handle(call: Call) -> Response:
    refresh_token = refresh_token_of(call)
    async with call.av.ctx.db.transaction() as conn:
        did = await call.av.xrpc_refresh.revoke(conn, refresh_token)
    ended = await call.sessions.end_if_last(did) if did is not None else None
    # As the PDS answers: 200 without a body, also for a sign-in already ended.
    return Response(status_code=200, background=call.sessions.end_at_pds_task(ended))


METHOD = Method("procedure", handle)
