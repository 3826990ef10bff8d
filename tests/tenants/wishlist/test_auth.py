"""Accounts: register, login, refresh, logout — and the seed-compatible ``/api/wishlist`` alias."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from shared.tenant import TenantContext
from tests.support.refresh import AGE_SPENT
from tests.tenants.wishlist.conftest import API, PASSWORD, MakeUser, User, assert_error, unique_email


async def test_register_answers_user_and_token_pair(client: httpx.AsyncClient) -> None:
    email = unique_email("reg")
    response = await client.post(f"{API}/auth/register", json={"email": email, "password": PASSWORD, "name": "Reg"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"user", "access_token", "refresh_token", "token_type", "expires_in"}
    assert body["user"]["email"] == email and body["user"]["name"] == "Reg" and isinstance(body["user"]["id"], int)
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    assert "password_hash" not in response.text


async def test_register_duplicate_email_is_409_ignoring_case(client: httpx.AsyncClient, alice: User) -> None:
    response = await client.post(
        f"{API}/auth/register", json={"email": alice.email.upper(), "password": PASSWORD, "name": "Again"}
    )
    assert_error(response, 409, "email_taken")


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "password": PASSWORD, "name": "X"},
        {"email": "weak@example.com", "password": "short1", "name": "X"},
        {"email": "weak@example.com", "password": "onlylowercaseletters", "name": "X"},
        {"email": "weak@example.com", "password": PASSWORD},
        {"email": "weak@example.com", "password": PASSWORD, "name": 7},
        {"email": "weak@example.com", "password": PASSWORD, "name": "X", "admin": True},
    ],
    ids=["bad-email", "short-password", "one-class-password", "missing-name", "wrong-type", "unknown-field"],
)
async def test_register_invalid_is_422(client: httpx.AsyncClient, body: dict[str, object]) -> None:
    error = assert_error(await client.post(f"{API}/auth/register", json=body), 422, "validation_error")
    assert error["details"]


async def test_register_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{API}/auth/register", content=b'{"email": ', headers={"content-type": "application/json"}
    )
    assert_error(response, 400, "malformed_json")


async def test_register_oversized_body_is_413(client: httpx.AsyncClient) -> None:
    body = {"email": unique_email(), "password": PASSWORD, "name": "x" * 1_100_000}
    assert_error(await client.post(f"{API}/auth/register", json=body), 413, "payload_too_large")


async def test_login_and_wrong_credentials(client: httpx.AsyncClient, alice: User) -> None:
    response = await client.post(f"{API}/auth/login", json={"email": alice.email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    assert response.json()["user"] == {"id": alice.id, "email": alice.email, "name": "Alice"}
    wrong = await client.post(f"{API}/auth/login", json={"email": alice.email, "password": PASSWORD + "x"})
    unknown = await client.post(f"{API}/auth/login", json={"email": unique_email(), "password": PASSWORD})
    # One message for both, so the answer doesn't tell which accounts exist.
    assert assert_error(wrong, 401, "invalid_credentials") == assert_error(unknown, 401, "invalid_credentials")


async def test_login_missing_password_is_422(client: httpx.AsyncClient) -> None:
    assert_error(await client.post(f"{API}/auth/login", json={"email": "a@b.c"}), 422, "validation_error")


async def test_refresh_rotates_and_a_spent_token_is_refused(
    client: httpx.AsyncClient, alice: User, tenant_ctx: Callable[[str], TenantContext]
) -> None:
    first = await client.post(f"{API}/auth/refresh", json={"refresh_token": alice.refresh})
    assert first.status_code == 200, first.text
    pair = first.json()
    assert pair["refresh_token"] != alice.refresh and pair["user"]["id"] == alice.id
    # Another tab sending the same token a moment later is not a thief: it gets its own pair.
    tab = await client.post(f"{API}/auth/refresh", json={"refresh_token": alice.refresh})
    assert tab.status_code == 200 and tab.json()["refresh_token"] != pair["refresh_token"]
    async with tenant_ctx("wishlist").db.transaction() as conn:
        await conn.exec_driver_sql(AGE_SPENT)
    replay = await client.post(f"{API}/auth/refresh", json={"refresh_token": alice.refresh})
    assert_error(replay, 401, "refresh_token_reused")
    # The replay revoked the whole sign-in, including the token handed out by the rotation.
    after = await client.post(f"{API}/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert_error(after, 401, "refresh_token_reused")


async def test_refresh_unknown_or_malformed(client: httpx.AsyncClient) -> None:
    assert_error(await client.post(f"{API}/auth/refresh", json={"refresh_token": "nope"}), 401, "invalid_refresh_token")
    assert_error(await client.post(f"{API}/auth/refresh", json={"refresh_token": 5}), 422, "validation_error")
    assert_error(await client.post(f"{API}/auth/refresh", content=b"[", headers={}), 400, "malformed_json")


async def test_logout_revokes_the_refresh_token(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    user = await make_user("Leaving")
    response = await client.post(f"{API}/auth/logout", json={"refresh_token": user.refresh})
    assert response.status_code == 204
    refused = await client.post(f"{API}/auth/refresh", json={"refresh_token": user.refresh})
    assert refused.status_code == 401
    assert_error(await client.post(f"{API}/auth/logout", json={}), 422, "validation_error")


async def test_alias_prefix_serves_the_same_api(client: httpx.AsyncClient, alice: User) -> None:
    login = await client.post("/api/wishlist/auth/login", json={"email": alice.email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    created = await client.post(
        "/api/wishlist/wishlists", json={"title": "Via alias"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert created.status_code == 201, created.text
    same = await client.get(f"{API}/wishlists/{created.json()['id']}", headers=alice.auth)
    assert same.json()["title"] == "Via alias"
    assert_error(await client.get("/api/wishlist/wishlists/abc", headers=alice.auth), 404, "not_found")
