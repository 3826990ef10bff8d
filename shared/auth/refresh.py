"""Opaque refresh tokens: stored hashed, rotated on use; reuse of a spent one revokes its family.

A spent token is still honoured for a short grace after its first use (the "reuse interval" of
Okta and Auth0; atproto's PDS keeps two hours). Clients do use one token twice without anyone
stealing it: tabs that wake together and all refresh, or a retry after a lost response. Without
the grace each such race signed the user out everywhere. Within it a reuse gets a new token of
the same sign-in; after it, a reuse is taken for theft as before.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db.pool import TenantDatabase
from shared.errors import ApiError


def create_refresh_tokens_table(op: Any) -> None:
    """Create the ``refresh_tokens`` table (call from a tenant's first migration)."""
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.LargeBinary, primary_key=True),
        sa.Column("family_id", sa.Uuid, nullable=False, index=True),
        sa.Column("subject", sa.Text, nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )


# Whether ``{subject}`` (an SQL expression) has a sign-in that can still refresh: a token of its
# family unspent, unrevoked and unexpired (a rotation leaves its new token unspent).
LIVE_SIGN_IN = (
    "EXISTS (SELECT 1 FROM refresh_tokens WHERE subject = {subject} "
    "AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now())"
)


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _invalid() -> ApiError:
    return ApiError(401, "invalid_refresh_token", "The refresh token is invalid, expired or revoked.")


class RefreshTokens:
    """Refresh-token store of one tenant database."""

    def __init__(self, ttl: int = 30 * 24 * 3600, grace: int = 30) -> None:
        self.ttl = ttl
        self.grace = grace

    async def issue(self, conn: AsyncConnection, subject: str, family: uuid.UUID | None = None) -> str:
        """A new token for ``subject`` (a new family unless ``family`` continues one)."""
        token = secrets.token_urlsafe(32)
        await conn.execute(
            sa.text("INSERT INTO refresh_tokens (token_hash, family_id, subject, expires_at) VALUES (:h, :f, :s, :e)"),
            {
                "h": _hash(token),
                "f": family or uuid.uuid4(),
                "s": subject,
                "e": datetime.now(UTC) + timedelta(seconds=self.ttl),
            },
        )
        return token

    async def rotate(self, db: TenantDatabase, token: str) -> tuple[str, str]:
        """Spend ``token`` and return ``(subject, new_token)``; a replay revokes the whole family.

        Runs its own transaction so that a detected replay's revocation is committed even though
        the caller gets a 401. The row lock makes concurrent uses of one token take turns: the
        first rotates it, the others fall within the grace (or, with none, are replays).
        """
        async with db.transaction() as conn:
            row = (
                await conn.execute(
                    sa.text(
                        "SELECT family_id, subject, expires_at, used_at, revoked_at, "
                        "used_at > now() - make_interval(secs => :g) AS in_grace FROM refresh_tokens "
                        "WHERE token_hash = :h FOR UPDATE"
                    ),
                    {"h": _hash(token), "g": self.grace},
                )
            ).first()
            if row is None:
                raise _invalid()
            replayed = row.revoked_at is not None or (row.used_at is not None and not row.in_grace)
            if replayed:
                await self.revoke_family(conn, row.family_id)
            elif row.expires_at <= datetime.now(UTC):
                raise _invalid()
            elif row.used_at is not None:
                return row.subject, await self.issue(conn, row.subject, row.family_id)
            else:
                await conn.execute(
                    sa.text("UPDATE refresh_tokens SET used_at = now() WHERE token_hash = :h"),
                    {"h": _hash(token)},
                )
                return row.subject, await self.issue(conn, row.subject, row.family_id)
        raise ApiError(401, "refresh_token_reused", "This refresh token was already used; sign in again.")

    async def revoke(self, conn: AsyncConnection, token: str) -> str | None:
        """Revoke the family of ``token`` (logout); its subject, or None when the token is unknown."""
        row = (
            await conn.execute(
                sa.text("SELECT family_id, subject FROM refresh_tokens WHERE token_hash = :h"), {"h": _hash(token)}
            )
        ).first()
        if row is None:
            return None
        await self.revoke_family(conn, row.family_id)
        return str(row.subject)

    async def revoke_family(self, conn: AsyncConnection, family: uuid.UUID) -> None:
        """Revoke every token of one sign-in."""
        await conn.execute(
            sa.text("UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = :f AND revoked_at IS NULL"),
            {"f": family},
        )

    async def forget_subject(self, conn: AsyncConnection, subject: str) -> None:
        """Delete every refresh token of ``subject``, spent or not (its account is being deleted)."""
        await conn.execute(sa.text("DELETE FROM refresh_tokens WHERE subject = :s"), {"s": subject})
