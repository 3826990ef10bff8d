"""``app.bsky.actor.getProfile``: profileViewDetailed with the viewer's follow and block state.

An inactive account answers the errors Bluesky's AppView gives (its getProfile handler; the
lexicon lists none): ``AccountTakedown`` when taken down or suspended, ``AccountDeactivated``
when deactivated, and "Profile not found" when deleted (that AppView removes the account).
"""

from __future__ import annotations

from starlette.responses import Response

from shared.http.responses import raw_json_response
from tenants.feed.db import acquire
from tenants.feed.views.actors import profiles
from tenants.feed.xrpc.base import Call, Method, XrpcError, invalid

TAKEDOWN = frozenset({"takendown", "suspended"})


def inactive(status: str) -> XrpcError:
    """The error answered for an account of this (inactive) status."""
    if status in TAKEDOWN:
        return invalid("Account has been suspended", "AccountTakedown")
    if status == "deactivated":
        return invalid("Account is deactivated", "AccountDeactivated")
    return invalid("Profile not found")


async def handle(call: Call) -> Response:
    viewer = await call.maybe_viewer()
    account = await call.account()
    if account.status is not None:
        raise inactive(account.status)
    async with acquire(call.av.ctx) as conn:
        views = await profiles(conn, [account.did], viewer)
    return raw_json_response(views[1:-1])


METHOD = Method("query", handle)
