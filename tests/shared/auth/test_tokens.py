"""Access tokens: audience-bound, expiring, and refused when forged."""

from __future__ import annotations

import base64
import time

import jwt
import pytest

from gateway.context import signing_key
from shared.auth.tokens import TokenService
from shared.errors import ApiError
from tests.support.waiting import wait_for

SECRET = "s" * 48


def service(tenant: str = "wishlist", ttl: int = 900) -> TokenService:
    return TokenService(signing_key(SECRET, tenant), tenant, ttl)


def refused(token: str, svc: TokenService | None = None) -> ApiError:
    with pytest.raises(ApiError) as info:
        (svc or service()).verify(token)
    assert info.value.status == 401
    return info.value


def test_round_trip() -> None:
    claims = service().verify(service().issue_access("42", role="member"))
    assert claims.subject == "42" and claims.audience == "wishlist" and claims.extra == {"role": "member"}
    assert claims.expires_at - time.time() == pytest.approx(900, abs=5)


def test_other_tenant_token_refused() -> None:
    refused(service("seacalendar").issue_access("42"))
    # Same key but another audience is refused too.
    forged = jwt.encode(
        {"iss": "onebox", "aud": "seacalendar", "sub": "1", "iat": int(time.time()), "exp": int(time.time()) + 60},
        signing_key(SECRET, "wishlist"),
        algorithm="HS256",
    )
    refused(forged)


def test_expired_token_refused() -> None:
    error = refused(service(ttl=-10).issue_access("42"))
    assert "expired" in error.message


def test_missing_exp_refused() -> None:
    token = jwt.encode(
        {"iss": "onebox", "aud": "wishlist", "sub": "1", "iat": int(time.time())},
        signing_key(SECRET, "wishlist"),
        algorithm="HS256",
    )
    refused(token)


def test_alg_none_refused() -> None:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    now = int(time.time())
    payload = f'{{"iss":"onebox","aud":"wishlist","sub":"1","iat":{now},"exp":{now + 600}}}'
    header = b64(b'{"alg":"none","typ":"JWT"}')
    refused(f"{header}.{b64(payload.encode())}.")


def test_tampered_signature_refused() -> None:
    token = service().issue_access("42")
    head, body, sig = token.split(".")
    flipped = sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB")
    refused(f"{head}.{body}.{flipped}")
    refused("not-a-jwt")


async def test_remembered_token_still_expires() -> None:
    svc = service(ttl=1)
    token = svc.issue_access("42")
    assert svc.verify(token).subject == "42"  # verified once, now remembered

    def expired() -> bool:
        try:
            svc.verify(token)
        except ApiError as error:
            assert "expired" in error.message
            return True
        return False

    await wait_for(expired, timeout=5)  # the token lives one second


def test_remembered_token_is_per_audience() -> None:
    token = service("wishlist").issue_access("42")
    assert service("wishlist").verify(token).subject == "42"
    refused(token, service("seacalendar"))
