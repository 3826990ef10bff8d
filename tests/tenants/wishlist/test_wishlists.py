"""Wishlists: create, read, partial update, delete, pagination, share links, ownership."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from tests.tenants.wishlist.conftest import (
    API,
    MakeUser,
    User,
    assert_error,
    create_item,
    create_tag,
    create_wishlist,
)


async def test_create_and_read_with_items_and_tags(client: httpx.AsyncClient, alice: User) -> None:
    created = await create_wishlist(client, alice, title="  Birthday  ", description="30!", visibility="shared")
    assert created["title"] == "Birthday" and created["visibility"] == "shared" and created["items"] == []
    assert created["item_count"] == 0 and len(created["share_token"]) >= 20
    tag = await create_tag(client, alice, "Books")
    low = await create_item(client, alice, created["id"], name="Lamp", priority=5)
    high = await create_item(client, alice, created["id"], name="Novel", priority=1, tag_ids=[tag["id"]])
    response = await client.get(f"{API}/wishlists/{created['id']}", headers=alice.auth)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    doc = response.json()
    assert doc["item_count"] == 2
    assert [i["id"] for i in doc["items"]] == [high["id"], low["id"]]  # priority 1 first
    assert doc["items"][0]["tags"] == [{"id": tag["id"], "name": "Books", "color": None}]
    # The owner's view never carries reservation fields.
    assert "reserved" not in response.text


async def test_create_defaults_to_private(client: httpx.AsyncClient, alice: User) -> None:
    created = await create_wishlist(client, alice)
    assert created["visibility"] == "private" and created["description"] == ""


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 422, "validation_error"),
        ({"title": ""}, 422, "validation_error"),
        ({"title": "   "}, 422, "validation_error"),
        ({"title": 5}, 422, "validation_error"),
        ({"title": "x" * 201}, 422, "validation_error"),
        ({"title": "T", "visibility": "friends"}, 422, "validation_error"),
        ({"title": "T", "owner_id": 1}, 422, "validation_error"),
        ([{"title": "T"}], 422, "validation_error"),
    ],
    ids=["missing", "empty", "blank", "wrong-type", "too-long", "bad-visibility", "unknown-field", "not-object"],
)
async def test_create_invalid(client: httpx.AsyncClient, alice: User, body: object, status: int, code: str) -> None:
    assert_error(await client.post(f"{API}/wishlists", json=body, headers=alice.auth), status, code)


async def test_create_malformed_and_oversized(client: httpx.AsyncClient, alice: User) -> None:
    headers = {**alice.auth, "content-type": "application/json"}
    assert_error(await client.post(f"{API}/wishlists", content=b"{title", headers=headers), 400, "malformed_json")
    assert_error(await client.post(f"{API}/wishlists", content=b"", headers=headers), 400, "malformed_json")
    big = {"title": "T", "description": "x" * 1_000_001}
    assert_error(await client.post(f"{API}/wishlists", json=big, headers=alice.auth), 413, "payload_too_large")
    long = {"title": "T", "description": "x" * 5001}
    assert_error(await client.post(f"{API}/wishlists", json=long, headers=alice.auth), 422, "validation_error")


async def test_a_nul_character_is_400_and_nothing_is_written(client: httpx.AsyncClient, alice: User) -> None:
    response = await client.post(f"{API}/wishlists", json={"title": "Gifts\u0000"}, headers=alice.auth)
    assert_error(response, 400, "unsupported_character")
    assert (await client.get(f"{API}/wishlists", headers=alice.auth)).json()["wishlists"] == []
    assert_error(await client.get(f"{API}/shared/abc%00def"), 400, "unsupported_character")


async def test_a_token_that_outlived_its_account_is_401(client: httpx.AsyncClient, app: Starlette, alice: User) -> None:
    # What a restore from an older backup leaves: a valid token for an id with no account.
    ghost = {"Authorization": "Bearer " + app.state.contexts["wishlist"].tokens.issue_access(str(alice.id + 10**9))}
    assert_error(await client.post(f"{API}/wishlists", json={"title": "T"}, headers=ghost), 401, "unauthorized")
    assert_error(await client.post(f"{API}/tags", json={"name": "t"}, headers=ghost), 401, "unauthorized")
    # Reads too, which used to answer an empty list or a 404 for it.
    for path in ("/wishlists", "/wishlists/1", "/tags", "/reservations"):
        assert_error(await client.get(API + path, headers=ghost), 401, "unauthorized")


async def test_update_is_partial(client: httpx.AsyncClient, alice: User) -> None:
    created = await create_wishlist(client, alice, title="Old", description="Keep me")
    response = await client.put(f"{API}/wishlists/{created['id']}", json={"title": "New"}, headers=alice.auth)
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["title"] == "New" and doc["description"] == "Keep me" and doc["visibility"] == "private"
    assert doc["updated_at"] > created["updated_at"]
    patched = await client.patch(f"{API}/wishlists/{created['id']}", json={"visibility": "public"}, headers=alice.auth)
    assert patched.json()["visibility"] == "public" and patched.json()["title"] == "New"
    unchanged = await client.put(f"{API}/wishlists/{created['id']}", json={}, headers=alice.auth)
    assert unchanged.status_code == 200 and unchanged.json()["updated_at"] == patched.json()["updated_at"]


@pytest.mark.parametrize(
    "body",
    [{"title": None}, {"description": None}, {"visibility": "everyone"}, {"title": ""}, {"share_token": "mine"}],
)
async def test_update_invalid(client: httpx.AsyncClient, alice: User, body: dict[str, object]) -> None:
    created = await create_wishlist(client, alice)
    response = await client.put(f"{API}/wishlists/{created['id']}", json=body, headers=alice.auth)
    assert_error(response, 422, "validation_error")


async def test_delete(client: httpx.AsyncClient, alice: User) -> None:
    created = await create_wishlist(client, alice)
    item = await create_item(client, alice, created["id"])
    response = await client.delete(f"{API}/wishlists/{created['id']}", headers=alice.auth)
    assert response.status_code == 204 and response.content == b""
    assert_error(await client.get(f"{API}/wishlists/{created['id']}", headers=alice.auth), 404, "not_found")
    assert_error(await client.get(f"{API}/items/{item['id']}", headers=alice.auth), 404, "not_found")
    assert_error(await client.delete(f"{API}/wishlists/{created['id']}", headers=alice.auth), 404, "not_found")


async def test_someone_elses_wishlist_is_404_for_every_verb(client: httpx.AsyncClient, alice: User, bob: User) -> None:
    theirs = await create_wishlist(client, alice, visibility="public")
    base = f"{API}/wishlists/{theirs['id']}"
    for method, path, body in [
        ("GET", base, None),
        ("PUT", base, {"title": "Mine now"}),
        ("DELETE", base, None),
        ("GET", f"{base}/items", None),
        ("POST", f"{base}/share-token", None),
    ]:
        response = await client.request(method, path, json=body, headers=bob.auth)
        error = assert_error(response, 404, "not_found")
        assert error["message"] == "The wishlist does not exist."
    still = await client.get(base, headers=alice.auth)
    assert still.json()["title"] == "Birthday"


async def test_unknown_and_non_numeric_ids_are_json_404(client: httpx.AsyncClient, alice: User) -> None:
    for path in ("/wishlists/0", "/wishlists/987654321", "/wishlists/99999999999999999999", "/wishlists/abc"):
        for method in ("GET", "PUT", "DELETE"):
            response = await client.request(method, API + path, json={"title": "x"}, headers=alice.auth)
            assert_error(response, 404, "not_found")
    assert_error(await client.get(f"{API}/wishlists/abc/items", headers=alice.auth), 404, "not_found")
    assert_error(await client.get(f"{API}/nothing-here", headers=alice.auth), 404, "not_found")


async def test_wrong_method_is_405(client: httpx.AsyncClient, alice: User) -> None:
    response = await client.delete(f"{API}/wishlists", headers=alice.auth)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET, HEAD, POST"


async def test_list_paginates_newest_first(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    user = await make_user("Pager")
    ids = [(await create_wishlist(client, user, title=f"List {n}"))["id"] for n in range(5)]
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        response = await client.get(f"{API}/wishlists", params=params, headers=user.auth)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"wishlists", "next_cursor"}
        seen += [w["id"] for w in body["wishlists"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1] and pages == 3
    default = (await client.get(f"{API}/wishlists", headers=user.auth)).json()
    assert len(default["wishlists"]) == 5 and default["next_cursor"] is None
    assert "items" not in default["wishlists"][0] and default["wishlists"][0]["item_count"] == 0


async def test_list_shows_only_own(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    one, two = await make_user("One"), await make_user("Two")
    await create_wishlist(client, one, title="One's")
    body = (await client.get(f"{API}/wishlists", headers=two.auth)).json()
    assert body == {"wishlists": [], "next_cursor": None}


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "1.5"])
async def test_list_limit_out_of_range_is_422(client: httpx.AsyncClient, alice: User, limit: str) -> None:
    response = await client.get(f"{API}/wishlists", params={"limit": limit}, headers=alice.auth)
    assert_error(response, 422, "validation_error")


async def test_list_tampered_cursor_is_400(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    user, other = await make_user("Cursor"), await make_user("Other")
    for _ in range(3):
        await create_wishlist(client, user)
    cursor = (await client.get(f"{API}/wishlists", params={"limit": 1}, headers=user.auth)).json()["next_cursor"]
    head, _, mac = cursor.partition(".")
    forged_head = head[:-1] + ("A" if head[-1] != "A" else "B")
    for bad in (f"{forged_head}.{mac}", f"{head}.{mac[:-2]}", "garbage", "", ".", f"{head}."):
        response = await client.get(f"{API}/wishlists", params={"cursor": bad}, headers=user.auth)
        if bad == "":
            assert response.status_code == 200  # an empty cursor is no cursor: the first page
            continue
        assert_error(response, 400, "invalid_cursor")
    # A cursor is bound to its owner: someone else's is refused rather than reinterpreted.
    response = await client.get(f"{API}/wishlists", params={"cursor": cursor}, headers=other.auth)
    assert_error(response, 400, "invalid_cursor")


async def test_rotating_the_share_token(client: httpx.AsyncClient, alice: User, bob: User) -> None:
    created = await create_wishlist(client, alice, visibility="shared")
    old = created["share_token"]
    assert (await client.get(f"{API}/shared/{old}", headers=bob.auth)).status_code == 200
    response = await client.post(f"{API}/wishlists/{created['id']}/share-token", headers=alice.auth)
    assert response.status_code == 200, response.text
    new = response.json()["share_token"]
    assert new != old
    assert_error(await client.get(f"{API}/shared/{old}", headers=bob.auth), 404, "not_found")
    assert (await client.get(f"{API}/shared/{new}", headers=bob.auth)).status_code == 200


async def test_items_of_a_wishlist(client: httpx.AsyncClient, alice: User) -> None:
    created = await create_wishlist(client, alice)
    empty = await client.get(f"{API}/wishlists/{created['id']}/items", headers=alice.auth)
    assert empty.json() == {"items": []}
    item = await create_item(client, alice, created["id"], price="9.99", currency="USD")
    body = (await client.get(f"{API}/wishlists/{created['id']}/items", headers=alice.auth)).json()
    assert body["items"] == [item]


async def test_openapi_lists_every_route(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/wishlist/openapi.json")).json()["paths"]
    assert set(paths["/wishlist/api/wishlists/{id}"]) == {"get", "put", "patch", "delete"}
    assert "post" in paths["/wishlist/api/shared/{token}/items/{item_id}/reservation"]
    assert set(paths["/wishlist/api/users/me"]) == {"get", "put", "patch", "delete"}
    assert set(paths["/wishlist/api/auth/password"]) == {"post"}
    assert set(paths["/wishlist/api/auth/password-reset"]) == {"get", "post"}
    assert set(paths["/wishlist/api/auth/password-reset/confirm"]) == {"post"}
    assert not any("{path}" in path for path in paths)  # the JSON 404 fallback stays out of the document
