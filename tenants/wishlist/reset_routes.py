"""Forgotten passwords: mail a one-hour, single-use link; the link sets a new password and signs in."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.auth.passwords import hash_password
from shared.auth.session_routes import token_pair
from shared.errors import ApiError
from shared.http.body import read_json
from shared.http.responses import json_response
from shared.mail import Mailer
from shared.ratelimit import KeyedRateLimiter
from shared.tenant import TenantContext
from tenants.wishlist import reset_tokens
from tenants.wishlist.schemas import ResetConfirm, ResetRequest
from tenants.wishlist.settings import WishlistSettings

log = logging.getLogger("onebox.wishlist.reset")

ACCEPTED = {"status": "accepted", "message": "If an account uses this email, a reset link is on its way."}
SUBJECT = "Reset your wishlist password"
TEXT = """Someone (hopefully you) asked to reset the password of your wishlist account.

Open this link within an hour to choose a new password:

{link}

If it wasn't you, ignore this message: your password stays as it is.
"""


def not_configured() -> ApiError:
    """503 while the box has no SMTP server, sender or public URL to build and send the link."""
    return ApiError(
        503,
        "password_reset_not_configured",
        "Password reset by email is not set up on this server (ONEBOX_SMTP_URL, ONEBOX_MAIL_FROM, ONEBOX_PUBLIC_URL).",
        headers={"Retry-After": "3600"},
    )


def routes(ctx: TenantContext) -> list[Route]:
    """``/api/auth/password-reset`` (ask for a link, or whether one can be sent) and ``…/confirm``."""
    settings = ctx.settings.load(WishlistSettings)
    mailer = settings.mailer() if settings.wishlist_public_url else None
    # Per address, whoever asks (the gateway already limits each IP on /api/auth/).
    mails = KeyedRateLimiter(settings.wishlist_reset_mails_per_hour, period=3600)

    async def mail_link(mailer: Mailer, email: str) -> None:
        # Runs after the 202 is sent, so the answer and its timing are the same whether or not
        # the account exists, and a slow or failing SMTP server is nobody's error page.
        try:
            async with ctx.db.transaction() as conn:
                row = (
                    await conn.execute(
                        sa.text("SELECT id, email FROM users WHERE lower(email) = lower(:e)"), {"e": email}
                    )
                ).first()
                if row is None:
                    return
                token = await reset_tokens.issue(conn, row.id)
            link = f"{settings.wishlist_public_url}/wishlist/#/reset/{token}"
            await mailer.send(row.email, SUBJECT, TEXT.format(link=link))
        except Exception:
            log.exception("password reset: the link could not be made or mailed")
            return
        log.info("password reset: link mailed to user %s", row.id)

    async def availability(_request: Request) -> Response:
        """Whether this server can mail reset links: ``{"available": bool}`` (the UI hides the link if not)."""
        return json_response({"available": mailer is not None})

    async def request_reset(request: Request) -> Response:
        """Ask for a reset link by email; 202 with the same body whether or not the account exists."""
        if mailer is None:
            raise not_configured()
        body = await read_json(request, ResetRequest)
        mails.hit(body.email.lower(), "Too many reset links asked for this address; wait an hour.")
        response = json_response(ACCEPTED, status=202)
        response.background = BackgroundTask(mail_link, mailer, body.email)
        return response

    async def confirm_reset(request: Request) -> Response:
        """Set a new password with a mailed token; every sign-in ends and a fresh pair is answered."""
        body = await read_json(request, ResetConfirm)
        digest = reset_tokens.token_hash(body.token)
        # Checked before hashing so a guessed token costs no argon2 run; spent atomically below.
        async with ctx.db.connect() as conn:
            if await reset_tokens.owner(conn, digest) is None:
                raise reset_tokens.invalid_reset_token()
        password_hash = await hash_password(body.new_password)
        async with ctx.db.transaction() as conn:
            user_id = await reset_tokens.spend(conn, digest)
            if user_id is None:
                raise reset_tokens.invalid_reset_token()
            row = (
                await conn.execute(
                    sa.text("UPDATE users SET password_hash = :h WHERE id = :id RETURNING id, email, name"),
                    {"h": password_hash, "id": user_id},
                )
            ).first()
            if row is None:  # the account was deleted meanwhile (its tokens go with it)
                raise reset_tokens.invalid_reset_token()
            # Whoever knew the old password (the reason to reset may be a thief) is signed out.
            await ctx.refresh.forget_subject(conn, str(user_id))
            refresh = await ctx.refresh.issue(conn, str(user_id))
        user = dict(row._mapping)
        # Wrong guesses that locked the account's sign-in no longer count: the owner is back.
        ctx.login_limiter.reset(user["email"].lower())
        return json_response(token_pair(ctx, str(user_id), refresh, user=user))

    return [
        Route("/api/auth/password-reset", availability, methods=["GET"]),
        Route("/api/auth/password-reset", request_reset, methods=["POST"]),
        Route("/api/auth/password-reset/confirm", confirm_reset, methods=["POST"]),
    ]
