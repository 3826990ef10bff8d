"""The sign-in answer and the refresh/logout endpoints every tenant with accounts shares."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.errors import ApiError
from shared.http.body import read_json
from shared.http.responses import json_response
from shared.tenant import TenantContext

# Loads what the answer says about the account (e.g. ``{"user": {...}}``); None when it is gone.
AccountLoader = Callable[[AsyncConnection, str], Awaitable[dict[str, Any] | None]]


class RefreshBody(BaseModel):
    """``POST /api/auth/refresh`` and ``/api/auth/logout``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    refresh_token: str = Field(min_length=1, max_length=200)


def token_pair(
    ctx: TenantContext, subject: str, refresh_token: str, *, signed_in: bool = True, **account: Any
) -> dict[str, Any]:
    """The sign-in answer: what ``account`` says, an access token and a refresh token.

    ``signed_in``: the user has just proved who they are, so the access token carries
    ``auth_time`` (False for a refresh).
    """
    return {
        **account,
        "access_token": ctx.tokens.issue_access(subject, signed_in=signed_in),
        "refresh_token": refresh_token,
        "token_type": "bearer",
        "expires_in": ctx.tokens.ttl,
    }


def session_routes(ctx: TenantContext, load_account: AccountLoader) -> list[Route]:
    """``POST /api/auth/refresh`` (rotate) and ``POST /api/auth/logout`` (revoke the sign-in)."""

    async def refresh(request: Request) -> Response:
        """Exchange a refresh token for a new pair (the old one is spent)."""
        body = await read_json(request, RefreshBody)
        subject, new_token = await ctx.refresh.rotate(ctx.db, body.refresh_token)
        async with ctx.db.connect() as conn:
            account = await load_account(conn, subject)
        if account is None:
            raise ApiError(401, "invalid_refresh_token", "The account no longer exists.")
        return json_response(token_pair(ctx, subject, new_token, signed_in=False, **account))

    async def logout(request: Request) -> Response:
        """Revoke a refresh token (and its family)."""
        body = await read_json(request, RefreshBody)
        async with ctx.db.transaction() as conn:
            await ctx.refresh.revoke(conn, body.refresh_token)
        return Response(status_code=204)

    return [
        Route("/api/auth/refresh", refresh, methods=["POST"]),
        Route("/api/auth/logout", logout, methods=["POST"]),
    ]
