"""Accounts: register, login, refresh, logout."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.auth.passwords import burn_verify, hash_password, verify_password
from shared.errors import ApiError
from shared.http.body import read_json
from shared.http.responses import json_response
from shared.tenant import TenantContext
from tenants.wishlist.schemas import Login, RefreshBody, Register


def token_pair(ctx: TenantContext, user: dict[str, Any], refresh_token: str) -> dict[str, Any]:
    """The sign-in answer: user, access token, refresh token."""
    return {
        "user": user,
        "access_token": ctx.tokens.issue_access(str(user["id"])),
        "refresh_token": refresh_token,
        "token_type": "bearer",
        "expires_in": ctx.tokens.ttl,
    }


def routes(ctx: TenantContext) -> list[Route]:
    """Routes under ``/api/auth``."""

    async def register(request: Request) -> Response:
        """Create an account and sign in."""
        body = await read_json(request, Register)
        password_hash = await hash_password(body.password)
        try:
            async with ctx.db.transaction() as conn:
                row = (
                    await conn.execute(
                        sa.text(
                            "INSERT INTO users (email, name, password_hash) VALUES (:e, :n, :h) "
                            "RETURNING id, email, name"
                        ),
                        {"e": body.email, "n": body.name, "h": password_hash},
                    )
                ).one()
                user = dict(row._mapping)
                refresh = await ctx.refresh.issue(conn, str(user["id"]))
        except IntegrityError:
            raise ApiError(409, "email_taken", "An account with this email already exists.") from None
        return json_response(token_pair(ctx, user, refresh), status=201)

    async def login(request: Request) -> Response:
        """Sign in with email and password."""
        body = await read_json(request, Login)
        ctx.login_limiter.hit(body.email.lower(), "Too many sign-in attempts for this account; wait a while.")
        async with ctx.db.connect() as conn:
            row = (
                await conn.execute(
                    sa.text("SELECT id, email, name, password_hash FROM users WHERE lower(email) = lower(:e)"),
                    {"e": body.email},
                )
            ).first()
        if row is None:
            await burn_verify(body.password)
            raise ApiError(401, "invalid_credentials", "The email or password is wrong.")
        if not await verify_password(row.password_hash, body.password):
            raise ApiError(401, "invalid_credentials", "The email or password is wrong.")
        ctx.login_limiter.reset(body.email.lower())
        user = {"id": row.id, "email": row.email, "name": row.name}
        async with ctx.db.transaction() as conn:
            refresh = await ctx.refresh.issue(conn, str(row.id))
        return json_response(token_pair(ctx, user, refresh))

    async def refresh(request: Request) -> Response:
        """Exchange a refresh token for a new pair (the old one is spent)."""
        body = await read_json(request, RefreshBody)
        subject, new_token = await ctx.refresh.rotate(ctx.db, body.refresh_token)
        async with ctx.db.connect() as conn:
            row = (
                await conn.execute(sa.text("SELECT id, email, name FROM users WHERE id = :id"), {"id": int(subject)})
            ).first()
        if row is None:
            raise ApiError(401, "invalid_refresh_token", "The account no longer exists.")
        return json_response(token_pair(ctx, dict(row._mapping), new_token))

    async def logout(request: Request) -> Response:
        """Revoke a refresh token (and its family)."""
        body = await read_json(request, RefreshBody)
        async with ctx.db.transaction() as conn:
            await ctx.refresh.revoke(conn, body.refresh_token)
        return Response(status_code=204)

    return [
        Route("/api/auth/register", register, methods=["POST"]),
        Route("/api/auth/login", login, methods=["POST"]),
        Route("/api/auth/refresh", refresh, methods=["POST"]),
        Route("/api/auth/logout", logout, methods=["POST"]),
    ]
