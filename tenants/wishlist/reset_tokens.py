"""Password-reset tokens: 256 random bits mailed once, kept only as their SHA-256, one hour long."""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.errors import ApiError

TTL_SECONDS = 3600


def token_hash(token: str) -> bytes:
    """What the table keeps of a token: a leaked row cannot be turned back into a link."""
    return hashlib.sha256(token.encode()).digest()


def invalid_reset_token() -> ApiError:
    """400 for a token that is unknown, expired or already used (one answer for all three)."""
    return ApiError(
        400, "invalid_reset_token", "This reset link is invalid, expired or already used; ask for a new one."
    )


async def issue(conn: AsyncConnection, user_id: int) -> str:
    """A new token for the account; its older ones stay valid until they expire or one is used."""
    token = secrets.token_urlsafe(32)
    # Tidy the account's dead tokens as it gets a new one, so the table stays small without a job.
    await conn.execute(
        sa.text("DELETE FROM password_resets WHERE user_id = :u AND (used_at IS NOT NULL OR expires_at <= now())"),
        {"u": user_id},
    )
    await conn.execute(
        sa.text(
            "INSERT INTO password_resets (token_hash, user_id, expires_at) "
            "VALUES (:h, :u, now() + make_interval(secs => :ttl))"
        ),
        {"h": token_hash(token), "u": user_id, "ttl": TTL_SECONDS},
    )
    return token


async def owner(conn: AsyncConnection, digest: bytes) -> int | None:
    """The account a still-usable token belongs to, else None (a read: nothing is spent)."""
    value = (
        await conn.execute(
            sa.text(
                "SELECT user_id FROM password_resets WHERE token_hash = :h AND used_at IS NULL AND expires_at > now()"
            ),
            {"h": digest},
        )
    ).scalar()
    return int(value) if value is not None else None


async def spend(conn: AsyncConnection, digest: bytes) -> int | None:
    """Use the token and spend every other outstanding token of its account; the account id, or None.

    The conditional UPDATE takes the row lock, so of two concurrent uses the second waits, finds
    ``used_at`` set once the first commits, and gets None: a token works once.
    """
    value = (
        await conn.execute(
            sa.text(
                "UPDATE password_resets SET used_at = now() "
                "WHERE token_hash = :h AND used_at IS NULL AND expires_at > now() RETURNING user_id"
            ),
            {"h": digest},
        )
    ).scalar()
    if value is None:
        return None
    user_id = int(value)
    await spend_all(conn, user_id)
    return user_id


async def spend_all(conn: AsyncConnection, user_id: int) -> None:
    """Spend every outstanding token of the account (a reset done, a new password or email)."""
    await conn.execute(
        sa.text("UPDATE password_resets SET used_at = now() WHERE user_id = :u AND used_at IS NULL"), {"u": user_id}
    )
