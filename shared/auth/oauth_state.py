"""State of an OAuth dance: a signed short-lived cookie for the browser, a single-use row for replay.

The cookie (HMAC-SHA256 over a JSON document with an expiry) carries the PKCE verifier and the
``state`` value back to the callback without server-side sessions; the ``oauth_states`` row makes
each ``state`` usable once, so a replayed callback URL is refused even with the cookie still set.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection


def create_oauth_states_table(op: Any) -> None:
    """Create the ``oauth_states`` table (call from a tenant's migration)."""
    op.create_table(
        "oauth_states",
        sa.Column("state_hash", sa.LargeBinary, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("used_at", sa.DateTime(timezone=True)),
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SignedCookie:
    """Sign and verify small JSON documents that expire (``<payload>.<mac>``, URL-safe)."""

    def __init__(self, secret: str, purpose: str) -> None:
        # A key per purpose, so a cookie signed for one use never verifies as another.
        self._key = hmac.new(secret.encode(), f"cookie:{purpose}".encode(), hashlib.sha256).digest()

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def dumps(self, data: dict[str, Any], ttl: int) -> str:
        """The signed cookie value for ``data``, valid for ``ttl`` seconds."""
        payload = _b64(orjson.dumps({"d": data, "e": int(time.time()) + ttl}))
        return f"{payload}.{self._mac(payload)}"

    def loads(self, value: str | None) -> dict[str, Any] | None:
        """The document, or None when the value is missing, tampered with or expired."""
        if not value or value.count(".") != 1:
            return None
        payload, mac = value.split(".")
        if not hmac.compare_digest(mac, self._mac(payload)):
            return None
        try:
            doc = orjson.loads(_unb64(payload))
        except (ValueError, orjson.JSONDecodeError):
            return None
        if not isinstance(doc, dict) or not isinstance(doc.get("d"), dict) or doc.get("e", 0) < time.time():
            return None
        data: dict[str, Any] = doc["d"]
        return data


def _hash(state: str) -> bytes:
    return hashlib.sha256(state.encode()).digest()


class OAuthStates:
    """Single-use ``state`` values in a tenant database."""

    def __init__(self, ttl: int = 600) -> None:
        self.ttl = ttl

    async def remember(self, conn: AsyncConnection, state: str) -> None:
        """Record a fresh state (and sweep expired ones, so the table stays small)."""
        await conn.execute(sa.text("DELETE FROM oauth_states WHERE expires_at < now() - interval '1 day'"))
        await conn.execute(
            sa.text("INSERT INTO oauth_states (state_hash, expires_at) VALUES (:h, now() + make_interval(secs => :t))"),
            {"h": _hash(state), "t": self.ttl},
        )

    async def consume(self, conn: AsyncConnection, state: str) -> bool:
        """Spend ``state``; False when it is unknown, expired or already spent."""
        row = await conn.execute(
            sa.text(
                "UPDATE oauth_states SET used_at = now() "
                "WHERE state_hash = :h AND used_at IS NULL AND expires_at > now() RETURNING 1"
            ),
            {"h": _hash(state)},
        )
        return row.first() is not None
