"""``/api/auth``: sign in with a Bluesky handle and app password, refresh, log out."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.errors import ApiError
from shared.http.body import read_json
from shared.http.responses import json_response
from tenants.feed.api.schemas import Login, RefreshBody
from tenants.feed.appview import AppView
from tenants.feed.db import acquire
from tenants.feed.sessions import PdsSessions
from tenants.feed.signin import sign_in


def routes(av: AppView, sessions: PdsSessions) -> list[Route]:
    """Sign-in routes of the community app."""
    ctx = av.ctx

    def token_pair(did: str, handle: str, refresh_token: str, signed_in: bool) -> Response:
        return json_response(
            {
                "user": {"did": did, "handle": handle},
                "access_token": ctx.tokens.issue_access(did, signed_in=signed_in, handle=handle),
                "refresh_token": refresh_token,
                "token_type": "bearer",
                "expires_in": ctx.tokens.ttl,
            }
        )

    async def login(request: Request) -> Response:
        """Sign in with a Bluesky handle or DID and an app password; the account becomes a member."""
        body = await read_json(request, Login)
        session, refresh = await sign_in(av, sessions, body.identifier, body.password, ctx.refresh)
        return token_pair(session.did, session.handle, refresh, signed_in=True)

    async def refresh(request: Request) -> Response:
        """Exchange a refresh token for a new pair (the old one is spent)."""
        body = await read_json(request, RefreshBody)
        did, new_token = await ctx.refresh.rotate(ctx.db, body.refresh_token)
        async with acquire(ctx) as conn:
            handle = await conn.fetchval("SELECT handle FROM members WHERE did = $1", did)
        if handle is None:
            raise ApiError(401, "invalid_refresh_token", "The account is no longer a member.")
        return token_pair(did, handle, new_token, signed_in=False)

    async def logout(request: Request) -> Response:
        """Revoke a refresh token (and its family); the member's last sign-in takes the PDS session with it."""
        body = await read_json(request, RefreshBody)
        async with ctx.db.transaction() as conn:
            did = await ctx.refresh.revoke(conn, body.refresh_token)
        ended = await sessions.end_if_last(did) if did is not None else None
        return Response(status_code=204, background=sessions.end_at_pds_task(ended))

    return [
        Route("/api/auth/login", login, methods=["POST"]),
        Route("/api/auth/refresh", refresh, methods=["POST"]),
        Route("/api/auth/logout", logout, methods=["POST"]),
    ]
