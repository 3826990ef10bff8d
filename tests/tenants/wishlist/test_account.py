"""The account: read and edit it, change the password, delete it with everything it owns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from gateway.context import signing_key
from shared.auth.tokens import TokenService
from shared.settings import Settings
from shared.tenant import TenantContext
from tests.tenants.wishlist.conftest import (
    API,
    PASSWORD,
    MakeUser,
    User,
    assert_error,
    create_item,
    create_tag,
    create_wishlist,
    unique_email,
)

ME = f"{API}/users/me"
NEW_PASSWORD = "Battery-Staple-42"
JSON = {"content-type": "application/json"}


async def reserve(client: httpx.AsyncClient, friend: User, wishlist: dict[str, Any], item: dict[str, Any]) -> None:
    url = f"{API}/shared/{wishlist['share_token']}/items/{item['id']}/reservation"
    assert (await client.post(url, headers=friend.auth)).status_code == 201


async def test_me_answers_the_account(client: httpx.AsyncClient, alice: User) -> None:
    response = await client.get(ME, headers=alice.auth)
    assert response.status_code == 200, response.text
    user = response.json()["user"]
    assert set(user) == {"id", "email", "name", "created_at"}
    assert (user["id"], user["email"], user["name"]) == (alice.id, alice.email, "Alice")
    assert "password" not in response.text


async def test_update_is_partial(client: httpx.AsyncClient, alice: User) -> None:
    renamed = await client.patch(ME, json={"name": "Alicia"}, headers=alice.auth)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["user"]["name"] == "Alicia" and renamed.json()["user"]["email"] == alice.email
    email = unique_email("moved")
    moved = await client.put(ME, json={"email": email, "current_password": PASSWORD}, headers=alice.auth)
    assert moved.json()["user"] == {**renamed.json()["user"], "email": email}
    unchanged = await client.put(ME, json={}, headers=alice.auth)
    assert unchanged.status_code == 200 and unchanged.json() == moved.json()
    # The new email signs in; the old one no longer does.
    login = await client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200 and login.json()["user"]["name"] == "Alicia"
    old = await client.post(f"{API}/auth/login", json={"email": alice.email, "password": PASSWORD})
    assert_error(old, 401, "invalid_credentials")


async def test_email_of_another_account_is_409(client: httpx.AsyncClient, alice: User, bob: User) -> None:
    assert_error(
        await client.patch(ME, json={"email": bob.email.upper(), "current_password": PASSWORD}, headers=alice.auth),
        409,
        "email_taken",
    )
    assert (await client.get(ME, headers=alice.auth)).json()["user"]["email"] == alice.email
    # Changing only the case of one's own email is no conflict.
    same = await client.patch(ME, json={"email": alice.email.upper()}, headers=alice.auth)
    assert same.status_code == 200, same.text


@pytest.mark.parametrize(
    "body",
    [{"name": None}, {"email": None}, {"name": ""}, {"name": 7}, {"email": "nope"}, {"name": "x" * 101},
     {"password_hash": "x"}, {"id": 1}],
    ids=["null-name", "null-email", "empty-name", "int-name", "bad-email", "long-name", "hash", "id"],
)  # fmt: skip
async def test_update_invalid_is_422(client: httpx.AsyncClient, alice: User, body: dict[str, Any]) -> None:
    assert assert_error(await client.patch(ME, json=body, headers=alice.auth), 422, "validation_error")["details"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/users/me"), ("PUT", "/users/me"), ("PATCH", "/users/me"), ("DELETE", "/users/me"),
     ("POST", "/auth/password")],
)  # fmt: skip
async def test_no_token_or_another_tenants_is_401(
    client: httpx.AsyncClient, settings: Settings, alice: User, method: str, path: str
) -> None:
    assert_error(await client.request(method, API + path, json={}), 401, "unauthorized")
    foreign = TokenService(signing_key(settings.require_secret(), "seacalendar"), "seacalendar")
    headers = {"Authorization": f"Bearer {foreign.issue_access(str(alice.id))}"}
    assert_error(await client.request(method, API + path, json={}, headers=headers), 401, "unauthorized")


@pytest.mark.parametrize(
    ("method", "path"), [("PATCH", "/users/me"), ("DELETE", "/users/me"), ("POST", "/auth/password")]
)
async def test_malformed_and_oversized_bodies(client: httpx.AsyncClient, alice: User, method: str, path: str) -> None:
    headers = {**alice.auth, **JSON}
    for bad in (b"{name", b""):
        assert_error(await client.request(method, API + path, content=bad, headers=headers), 400, "malformed_json")
    wrong = await client.request(method, API + path, content=b"[]", headers=headers)
    assert_error(wrong, 422, "validation_error")
    big = b'{"name": "' + b"x" * 1_100_000 + b'"}'
    assert_error(await client.request(method, API + path, content=big, headers=headers), 413, "payload_too_large")


@pytest.mark.parametrize(
    "body",
    [{}, {"current_password": PASSWORD}, {"current_password": PASSWORD, "new_password": "short1"},
     {"current_password": PASSWORD, "new_password": "onlylowercaseletters"},
     {"current_password": 5, "new_password": NEW_PASSWORD}, {"current_password": "", "new_password": NEW_PASSWORD}],
    ids=["empty", "no-new", "short", "one-class", "wrong-type", "empty-current"],
)  # fmt: skip
async def test_change_password_invalid_is_422(client: httpx.AsyncClient, alice: User, body: dict[str, Any]) -> None:
    response = await client.post(f"{API}/auth/password", json=body, headers=alice.auth)
    assert assert_error(response, 422, "validation_error")["details"]


async def test_change_password_ends_other_sign_ins_and_keeps_this_one(client: httpx.AsyncClient, alice: User) -> None:
    other = await client.post(f"{API}/auth/login", json={"email": alice.email, "password": PASSWORD})
    other_refresh = other.json()["refresh_token"]
    response = await client.post(
        f"{API}/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}, headers=alice.auth
    )
    assert response.status_code == 200, response.text
    pair = response.json()
    assert set(pair) == {"user", "access_token", "refresh_token", "token_type", "expires_in"}
    assert pair["user"] == {"id": alice.id, "email": alice.email, "name": "Alice"}
    for old in (alice.refresh, other_refresh):
        refused = await client.post(f"{API}/auth/refresh", json={"refresh_token": old})
        assert_error(refused, 401, "invalid_refresh_token")
    assert (await client.get(ME, headers={"Authorization": f"Bearer {pair['access_token']}"})).status_code == 200
    refreshed = await client.post(f"{API}/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    old_login = await client.post(f"{API}/auth/login", json={"email": alice.email, "password": PASSWORD})
    assert_error(old_login, 401, "invalid_credentials")
    new_login = await client.post(f"{API}/auth/login", json={"email": alice.email, "password": NEW_PASSWORD})
    assert new_login.status_code == 200


async def test_change_password_with_the_wrong_one_is_403_and_changes_nothing(
    client: httpx.AsyncClient, alice: User
) -> None:
    body = {"current_password": "Not-The-One-1", "new_password": NEW_PASSWORD}
    assert_error(await client.post(f"{API}/auth/password", json=body, headers=alice.auth), 403, "wrong_password")
    assert (await client.post(f"{API}/auth/refresh", json={"refresh_token": alice.refresh})).status_code == 200
    login = await client.post(f"{API}/auth/login", json={"email": alice.email, "password": PASSWORD})
    assert login.status_code == 200


async def test_password_checks_share_the_sign_in_budget(
    client: httpx.AsyncClient, alice: User, tenant_ctx: Callable[[str], TenantContext]
) -> None:
    # Spend the account's whole sign-in budget, as failed logins would.
    limiter = tenant_ctx("wishlist").login_limiter
    limiter.allow(alice.email.lower(), cost=limiter.capacity)
    body = {"current_password": "Guess-Number-1", "new_password": NEW_PASSWORD}
    response = await client.post(f"{API}/auth/password", json=body, headers=alice.auth)
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["retry-after"]) >= 1
    deleting = await client.request("DELETE", ME, json={"password": PASSWORD}, headers=alice.auth)
    assert_error(deleting, 429, "rate_limited")
    limiter.reset(alice.email.lower())


async def test_a_new_email_needs_the_current_password(client: httpx.AsyncClient, alice: User) -> None:
    email = unique_email("taken-over")
    missing = await client.patch(ME, json={"email": email}, headers=alice.auth)
    assert_error(missing, 422, "validation_error")
    assert missing.json()["error"]["details"][0]["field"] == "current_password"
    wrong = await client.patch(ME, json={"email": email, "current_password": "Not-The-One-1"}, headers=alice.auth)
    assert_error(wrong, 403, "wrong_password")
    assert (await client.get(ME, headers=alice.auth)).json()["user"]["email"] == alice.email
    # Neither a new name nor another case of the same email asks for it.
    assert (await client.patch(ME, json={"name": "Al"}, headers=alice.auth)).status_code == 200
    assert (await client.patch(ME, json={"email": alice.email.upper()}, headers=alice.auth)).status_code == 200


async def test_email_change_guesses_spend_the_sign_in_budget(
    client: httpx.AsyncClient, alice: User, tenant_ctx: Callable[[str], TenantContext]
) -> None:
    limiter = tenant_ctx("wishlist").login_limiter
    limiter.allow(alice.email.lower(), cost=limiter.capacity)  # the budget, guessed away at the login form
    body = {"email": unique_email("fresh"), "current_password": PASSWORD}
    assert_error(await client.patch(ME, json=body, headers=alice.auth), 429, "rate_limited")
    limiter.reset(alice.email.lower())


async def test_delete_with_the_wrong_password_is_403(client: httpx.AsyncClient, alice: User) -> None:
    response = await client.request("DELETE", ME, json={"password": "Not-The-One-1"}, headers=alice.auth)
    assert_error(response, 403, "wrong_password")
    assert (await client.get(ME, headers=alice.auth)).status_code == 200
    bad = await client.request("DELETE", ME, json={"password": 1}, headers=alice.auth)
    assert assert_error(bad, 422, "validation_error")["details"]


async def test_delete_takes_everything_the_account_owns(
    client: httpx.AsyncClient, alice: User, bob: User, make_user: MakeUser
) -> None:
    carol = await make_user("Carol")
    tag = await create_tag(client, alice, "books")
    mine = await create_wishlist(client, alice, title="Alice's", visibility="shared")
    my_item = await create_item(client, alice, mine["id"], tag_ids=[tag["id"]])
    await reserve(client, bob, mine, my_item)  # Bob's reservation on Alice's list
    bobs = await create_wishlist(client, bob, title="Bob's", visibility="shared")
    bobs_items = [await create_item(client, bob, bobs["id"], name=name) for name in ("Kite", "Lamp")]
    await reserve(client, alice, bobs, bobs_items[0])  # Alice's reservation on Bob's list
    await reserve(client, carol, bobs, bobs_items[1])  # someone else's, which stays

    response = await client.request("DELETE", ME, json={"password": PASSWORD}, headers=alice.auth)
    assert response.status_code == 204, response.text

    assert (await client.get(f"{API}/reservations", headers=bob.auth)).json()["reservations"] == []
    as_carol = (await client.get(f"{API}/shared/{bobs['share_token']}", headers=carol.auth)).json()["items"]
    assert [(i["name"], i["reserved"], i["reserved_by_me"]) for i in as_carol] == [
        ("Kite", False, False),
        ("Lamp", True, True),
    ]
    assert (await client.post(f"{API}/shared/{bobs['share_token']}/items/{bobs_items[0]['id']}/reservation",
                              headers=carol.auth)).status_code == 201  # fmt: skip
    assert_error(await client.get(f"{API}/shared/{mine['share_token']}", headers=bob.auth), 404, "not_found")
    assert len((await client.get(f"{API}/wishlists/{bobs['id']}", headers=bob.auth)).json()["items"]) == 2


async def test_a_deleted_accounts_tokens_are_refused_and_its_email_is_free(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    gone = await make_user("Gone")
    wishlist = await create_wishlist(client, gone)
    item = await create_item(client, gone, wishlist["id"])
    assert (await client.request("DELETE", ME, json={"password": PASSWORD}, headers=gone.auth)).status_code == 204
    paths = ["/users/me", "/wishlists", f"/wishlists/{wishlist['id']}", f"/wishlists/{wishlist['id']}/items",
             f"/items/{item['id']}", "/tags", "/reservations", f"/shared/{wishlist['share_token']}"]  # fmt: skip
    for path in paths:
        assert_error(await client.get(API + path, headers=gone.auth), 401, "unauthorized")
    for method, path in (("POST", "/wishlists"), ("POST", "/auth/password"), ("DELETE", "/users/me")):
        assert_error(await client.request(method, API + path, json={}, headers=gone.auth), 401, "unauthorized")
    refused = await client.post(f"{API}/auth/refresh", json={"refresh_token": gone.refresh})
    assert_error(refused, 401, "invalid_refresh_token")
    again = await client.post(f"{API}/auth/register", json={"email": gone.email, "password": PASSWORD, "name": "New"})
    assert again.status_code == 201, again.text
    fresh = {"Authorization": f"Bearer {again.json()['access_token']}"}
    assert (await client.get(f"{API}/wishlists", headers=fresh)).json()["wishlists"] == []
