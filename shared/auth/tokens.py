"""JWT access tokens: ``iss=onebox``, ``aud=<tenant>``, short-lived, HS256."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from starlette.requests import HTTPConnection

from shared.errors import unauthorized

ISSUER = "onebox"
ALGORITHM = "HS256"
VERIFIED_TOKENS = 4096  # remembered verified tokens per audience (a few hundred bytes each)
# How recent a sign-in must be for changes that need the user to prove who they are again.
RECENT_SIGN_IN = 10 * 60


@dataclass(frozen=True)
class AccessClaims:
    """The verified claims of an access token."""

    subject: str
    audience: str
    expires_at: int
    extra: dict[str, Any] = field(default_factory=dict)

    def signed_in_within(self, seconds: int = RECENT_SIGN_IN) -> bool:
        """Whether the token came from a sign-in less than ``seconds`` ago.

        Only tokens issued at a sign-in carry ``auth_time`` (as in OpenID Connect): a refresh
        proves possession of a refresh token, not of the account's credentials.
        """
        auth_time = self.extra.get("auth_time")
        return isinstance(auth_time, int) and time.time() - auth_time < seconds


class TokenService:
    """Issues and verifies access tokens for one audience (one tenant)."""

    def __init__(self, secret: str, audience: str, ttl: int = 15 * 60) -> None:
        self._secret = secret
        self.audience = audience
        self.ttl = ttl
        self._verified: dict[str, AccessClaims] = {}

    def issue_access(self, subject: str, ttl: int | None = None, signed_in: bool = False, **claims: Any) -> str:
        """A signed token for ``subject``; ``signed_in``: made at a sign-in, so it carries ``auth_time``
        (what :meth:`AccessClaims.signed_in_within` reads)."""
        now = int(time.time())
        payload = {
            **claims,
            **({"auth_time": now} if signed_in else {}),
            "iss": ISSUER,
            "aud": self.audience,
            "sub": subject,
            "iat": now,
            "exp": now + (ttl or self.ttl),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> AccessClaims:
        """Claims of a valid token for this audience, or 401.

        A token that verified is remembered until it expires (a bounded map, emptied when full):
        PyJWT prepares the key and checks every claim on each decode (~0.1 ms), a hot API
        checks the same few tokens thousands of times a second. Expiry is still checked.
        """
        claims = self._verified.get(token)
        if claims is not None and claims.expires_at > time.time():
            return claims
        claims = self._decode(token)
        if len(self._verified) >= VERIFIED_TOKENS:
            self._verified.clear()
        self._verified[token] = claims
        return claims

    def _decode(self, token: str) -> AccessClaims:
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise unauthorized("The access token has expired.") from None
        except jwt.InvalidTokenError:
            raise unauthorized("The access token is invalid.") from None
        extra = {k: v for k, v in payload.items() if k not in {"iss", "aud", "sub", "iat", "exp", "jti"}}
        return AccessClaims(str(payload["sub"]), self.audience, int(payload["exp"]), extra)

    async def authenticate(self, conn: HTTPConnection) -> AccessClaims:
        """The caller's claims from ``Authorization: Bearer``, or 401."""
        token = bearer_token(conn)
        if token is None:
            raise unauthorized()
        return self.verify(token)


def bearer_token(conn: HTTPConnection) -> str | None:
    """The bearer token of a request, if any."""
    header = conn.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
