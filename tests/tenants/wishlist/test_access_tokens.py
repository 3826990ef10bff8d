"""Every protected route refuses a missing, expired, foreign, unsigned or forged access token."""

from __future__ import annotations

import base64
import time

import httpx
import pytest

from gateway.context import signing_key
from shared.auth.tokens import TokenService
from shared.settings import Settings
from tests.tenants.wishlist.conftest import API, User, assert_error

PROTECTED = [
    ("GET", "/wishlists"),
    ("POST", "/wishlists"),
    ("GET", "/wishlists/1"),
    ("PUT", "/wishlists/1"),
    ("DELETE", "/wishlists/1"),
    ("GET", "/wishlists/1/items"),
    ("POST", "/wishlists/1/share-token"),
    ("POST", "/items"),
    ("GET", "/items/1"),
    ("PATCH", "/items/1"),
    ("DELETE", "/items/1"),
    ("GET", "/tags"),
    ("POST", "/tags"),
    ("GET", "/tags/1"),
    ("PUT", "/tags/1"),
    ("DELETE", "/tags/1"),
    ("POST", "/shared/some-token/items/1/reservation"),
    ("DELETE", "/shared/some-token/items/1/reservation"),
    ("GET", "/reservations"),
]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def wishlist_tokens(settings: Settings) -> TokenService:
    return TokenService(signing_key(settings.require_secret(), "wishlist"), "wishlist")


@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_no_token_is_401_everywhere(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, API + path, json={})
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_expired_token(client: httpx.AsyncClient, settings: Settings, alice: User) -> None:
    token = wishlist_tokens(settings).issue_access(str(alice.id), ttl=-10)
    response = await client.get(f"{API}/wishlists", headers={"Authorization": f"Bearer {token}"})
    assert "expired" in assert_error(response, 401, "unauthorized")["message"]


async def test_token_of_another_tenant(client: httpx.AsyncClient, settings: Settings, alice: User) -> None:
    other = TokenService(signing_key(settings.require_secret(), "seacalendar"), "seacalendar")
    token = other.issue_access(str(alice.id))
    assert_error(
        await client.get(f"{API}/wishlists", headers={"Authorization": f"Bearer {token}"}), 401, "unauthorized"
    )


async def test_alg_none(client: httpx.AsyncClient, alice: User) -> None:
    now = int(time.time())
    payload = f'{{"iss":"onebox","aud":"wishlist","sub":"{alice.id}","iat":{now},"exp":{now + 600}}}'
    header = b64(b'{"alg":"none","typ":"JWT"}')
    token = f"{header}.{b64(payload.encode())}."
    assert_error(
        await client.get(f"{API}/wishlists", headers={"Authorization": f"Bearer {token}"}), 401, "unauthorized"
    )


async def test_tampered_signature_and_payload(client: httpx.AsyncClient, alice: User, bob: User) -> None:
    head, body, sig = alice.access.split(".")
    flipped = sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB")
    # Bob's claims under Alice's signature: the signature no longer matches the payload.
    forged_body = bob.access.split(".")[1]
    for token in (f"{head}.{body}.{flipped}", f"{head}.{forged_body}.{sig}", "not-a-jwt"):
        response = await client.get(f"{API}/wishlists", headers={"Authorization": f"Bearer {token}"})
        assert_error(response, 401, "unauthorized")


async def test_wrong_scheme_and_refresh_token_as_access(client: httpx.AsyncClient, alice: User) -> None:
    for header in (f"Basic {alice.access}", f"Bearer {alice.refresh}", "Bearer"):
        response = await client.get(f"{API}/wishlists", headers={"Authorization": header})
        assert_error(response, 401, "unauthorized")


async def test_signed_token_with_non_numeric_subject(client: httpx.AsyncClient, settings: Settings) -> None:
    token = wishlist_tokens(settings).issue_access("alice")
    assert_error(
        await client.get(f"{API}/wishlists", headers={"Authorization": f"Bearer {token}"}), 401, "unauthorized"
    )
