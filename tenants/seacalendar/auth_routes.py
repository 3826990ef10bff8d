"""Sign-in: Discord OAuth (redirect and callback), local password login, refresh, logout."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlencode

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from shared.auth.discord import DiscordOAuth
from shared.auth.passwords import burn_verify, verify_password
from shared.errors import ApiError
from shared.http.body import parse_model, read_json
from shared.http.responses import json_response
from shared.tenant import TenantContext
from tenants.seacalendar.schemas import LoginBody, RefreshBody, Strict
from tenants.seacalendar.settings import sea_settings
from tenants.seacalendar.users import COLUMNS, load_user, upsert_discord_user


class BeginQuery(Strict):
    # ``json``: the callback answers with the tokens (API clients); ``redirect``: back to the web UI.
    response: Literal["json", "redirect"] = "redirect"


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
    settings = sea_settings(ctx)
    oauth = DiscordOAuth(settings, ctx.settings.require_secret(), ctx.db, f"onebox_oauth_{ctx.name}")

    def callback_url(request: Request) -> str:
        if settings.discord_redirect_uri:
            return settings.discord_redirect_uri
        return f"{request.url.scheme}://{request.url.netloc}/{ctx.name}/api/auth/callback"

    async def discord(request: Request) -> Response:
        """Start signing in with Discord (redirects to Discord's consent page)."""
        query = parse_model(BeginQuery, dict(request.query_params))
        secure = request.url.scheme == "https"
        return await oauth.begin(callback_url(request), secure, {"response": query.response})

    async def callback(request: Request) -> Response:
        """Discord sends the browser back here: create or update the account and sign in."""
        identity, extra = await oauth.complete(request)
        async with ctx.db.transaction() as conn:
            user = await upsert_discord_user(conn, identity)
            refresh = await ctx.refresh.issue(conn, str(user["id"]))
        pair = token_pair(ctx, user, refresh)
        if extra.get("response") == "json":
            response: Response = json_response(pair)
        else:
            # Tokens travel in the fragment, which browsers never send to a server or put in logs.
            fragment = urlencode({k: pair[k] for k in ("access_token", "refresh_token", "expires_in")})
            response = RedirectResponse(f"{settings.seacalendar_ui_path}#{fragment}", status_code=303)
        oauth.clear_cookie(response)
        return response

    async def login(request: Request) -> Response:
        """Sign in with a local username and password (set through PUT /api/users/me)."""
        body = await read_json(request, LoginBody)
        ctx.login_limiter.hit(body.username.lower(), "Too many sign-in attempts for this account; wait a while.")
        async with ctx.db.connect() as conn:
            row = (
                await conn.execute(
                    sa.text(f"SELECT {COLUMNS}, password_hash FROM users WHERE lower(username) = lower(:u)"),
                    {"u": body.username},
                )
            ).first()
        if row is None or row.password_hash is None:
            await burn_verify(body.password)
            raise ApiError(401, "invalid_credentials", "The username or password is wrong.")
        if not await verify_password(row.password_hash, body.password):
            raise ApiError(401, "invalid_credentials", "The username or password is wrong.")
        ctx.login_limiter.reset(body.username.lower())
        user = {k: v for k, v in row._mapping.items() if k != "password_hash"}
        async with ctx.db.transaction() as conn:
            refresh = await ctx.refresh.issue(conn, str(row.id))
        return json_response(token_pair(ctx, user, refresh))

    async def refresh(request: Request) -> Response:
        """Exchange a refresh token for a new pair (the old one is spent)."""
        body = await read_json(request, RefreshBody)
        subject, new_token = await ctx.refresh.rotate(ctx.db, body.refresh_token)
        async with ctx.db.connect() as conn:
            try:
                user = await load_user(conn, int(subject))
            except ApiError:
                raise ApiError(401, "invalid_refresh_token", "The account no longer exists.") from None
        return json_response(token_pair(ctx, user, new_token))

    async def logout(request: Request) -> Response:
        """Revoke a refresh token (and its family)."""
        body = await read_json(request, RefreshBody)
        async with ctx.db.transaction() as conn:
            await ctx.refresh.revoke(conn, body.refresh_token)
        return Response(status_code=204)

    return [
        Route("/api/auth/discord", discord, methods=["GET"]),
        Route("/api/auth/callback", callback, methods=["GET"]),
        Route("/api/auth/login", login, methods=["POST"]),
        Route("/api/auth/refresh", refresh, methods=["POST"]),
        Route("/api/auth/logout", logout, methods=["POST"]),
    ]
