"""The ``/seacalendar`` Socket.IO namespace: token sign-in and ``poll:<id>`` rooms for polls one may see."""

from __future__ import annotations

from typing import Any

from shared.auth.sockets import serve_namespace
from shared.auth.tokens import AccessClaims
from shared.tenant import TenantContext
from tenants.seacalendar import store


def setup(ctx: TenantContext, sio: Any) -> None:
    """Register the namespace; events reach its rooms through the gateway's bus relay."""

    async def can_join(claims: AccessClaims, room: str) -> bool:
        kind, _, ident = room.partition(":")
        if kind != "poll" or not ident.isdigit() or not claims.subject.isdigit():
            return False
        async with ctx.db.connect() as conn:
            return await store.can_see(conn, int(ident), int(claims.subject))

    serve_namespace(sio, ctx.tokens, can_join)
    ctx.state["sio"] = sio
