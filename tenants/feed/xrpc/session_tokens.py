"""The XRPC session's JWT pair, issued as a PDS issues it (access 2 h, refresh 90 days, no didDoc).

Both are onebox JWTs for audience ``feed``, told apart by their ``scope`` claim. The refresh JWT
carries an opaque refresh token from the ``refresh_tokens`` table, so refreshing rotates it and
a replayed refresh JWT revokes the whole sign-in, as the REST API's refresh tokens do.
"""

from __future__ import annotations

from typing import Any

from tenants.feed.appview import ACCESS_SCOPE, REFRESH_SCOPE, XRPC_ACCESS_TTL, XRPC_REFRESH_TTL, AppView


def session_pair(av: AppView, did: str, handle: str, refresh_token: str) -> dict[str, Any]:
    """``{did, handle, accessJwt, refreshJwt, active}``."""
    tokens = av.ctx.tokens
    return {
        "did": did,
        "handle": handle,
        "accessJwt": tokens.issue_access(did, ttl=XRPC_ACCESS_TTL, scope=ACCESS_SCOPE),
        "refreshJwt": tokens.issue_access(did, ttl=XRPC_REFRESH_TTL, scope=REFRESH_SCOPE, rt=refresh_token),
        "active": True,
    }


async def new_session(av: AppView, did: str, handle: str) -> dict[str, Any]:
    """A fresh session (a new refresh-token family)."""
    async with av.ctx.db.transaction() as conn:
        refresh_token = await av.xrpc_refresh.issue(conn, did)
    return session_pair(av, did, handle, refresh_token)
