"""The XRPC session's JWT pair, issued as a PDS issues it (access 2 h, refresh 90 days, no didDoc).

Both are onebox JWTs for audience ``feed``, told apart by their ``scope`` claim. The refresh JWT
carries an opaque refresh token from the ``refresh_tokens`` table, so refreshing rotates it and
a replayed refresh JWT revokes the whole sign-in, as the REST API's refresh tokens do.
"""

from __future__ import annotations

from typing import Any

from shared.auth.tokens import bearer_token
from tenants.feed.appview import ACCESS_SCOPE, REFRESH_SCOPE, XRPC_ACCESS_TTL, XRPC_REFRESH_TTL, AppView
from tenants.feed.xrpc.base import Call, XrpcError, invalid


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


def refresh_token_of(call: Call) -> str:
    """The opaque refresh token in the refresh JWT the call is authenticated with, as a PDS reads it."""
    token = bearer_token(call.request)
    if token is None:
        raise XrpcError(401, "AuthenticationRequired", "Authentication Required")
    claims = call.av.ctx.tokens.verify(token)
    refresh_token = claims.extra.get("rt")
    if claims.extra.get("scope") != REFRESH_SCOPE or not isinstance(refresh_token, str):
        raise invalid("Invalid token type", "InvalidToken")
    return refresh_token
