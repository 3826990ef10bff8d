"""The ``/seacalendar`` Socket.IO namespace: token sign-in and ``poll:<id>`` rooms for polls one may see."""

from __future__ import annotations

from typing import Any

from shared.auth.sockets import disconnect_subject, recheck_room, serve_namespace
from shared.auth.tokens import AccessClaims
from shared.db.notify import Event
from shared.digits import ascii_int
from shared.tenant import TenantContext
from tenants.seacalendar import store
from tenants.seacalendar.users import user_exists, user_id_of


def setup(ctx: TenantContext, sio: Any) -> None:
    """Register the namespace; events reach its rooms through the gateway's bus relay."""

    async def can_join(claims: AccessClaims, room: str) -> bool:
        kind, _, ident = room.partition(":")
        poll_id, user_id = ascii_int(ident), ascii_int(claims.subject)
        if kind != "poll" or poll_id is None or user_id is None or not 0 < poll_id <= store.MAX_ID:
            return False
        async with ctx.db.connect() as conn:
            return await store.can_see(conn, poll_id, user_id)

    async def account_exists(claims: AccessClaims) -> bool:
        return await user_exists(ctx, user_id_of(claims))  # a subject naming no account: refused

    namespace = serve_namespace(sio, ctx.tokens, can_join, account_exists)

    async def visibility_may_have_changed(event: Event) -> None:
        # A poll made private, or an invitee removed: who may watch it is decided again. This
        # subscriber comes before the gateway's relay, so the change's own event already skips them.
        if event.event == "poll_updated" and event.room is not None:
            await recheck_room(sio, namespace, event.room, can_join)

    async def account_deleted(event: Event) -> None:
        # Every gateway process hears it, so the account's sockets close wherever they are.
        if event.event == "user_deleted" and isinstance(user_id := event.data.get("user_id"), int):
            await disconnect_subject(sio, namespace, str(user_id))

    ctx.bus.subscribe(visibility_may_have_changed)
    ctx.bus.subscribe(account_deleted)
    ctx.state["sio"] = sio
