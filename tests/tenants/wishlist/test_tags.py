"""Tags: per-user names (unique ignoring case), colours, and what deleting one does to items."""

from __future__ import annotations

import httpx
import pytest

from tests.tenants.wishlist.conftest import API, MakeUser, User, assert_error, create_item, create_tag, create_wishlist


async def test_create_list_get(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    user = await make_user("Tagger")
    zebra = await create_tag(client, user, "zebra", "#00AA00")
    apple = await create_tag(client, user, " Apple ")
    assert apple["name"] == "Apple" and apple["color"] is None and zebra["color"] == "#00AA00"
    listed = await client.get(f"{API}/tags", headers=user.auth)
    assert listed.status_code == 200
    assert [t["name"] for t in listed.json()["tags"]] == ["Apple", "zebra"]
    one = await client.get(f"{API}/tags/{apple['id']}", headers=user.auth)
    assert one.json() == apple


async def test_list_is_empty_for_a_new_user(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    user = await make_user("Fresh")
    assert (await client.get(f"{API}/tags", headers=user.auth)).json() == {"tags": []}


async def test_duplicate_name_is_409_ignoring_case(client: httpx.AsyncClient, alice: User, bob: User) -> None:
    await create_tag(client, alice, "Books")
    response = await client.post(f"{API}/tags", json={"name": "BOOKS"}, headers=alice.auth)
    assert_error(response, 409, "tag_exists")
    await create_tag(client, bob, "Books")  # names are per user


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "x" * 41},
        {"name": 3},
        {"name": "ok", "color": "red"},
        {"name": "ok", "color": "#12345"},
    ],
)
async def test_create_invalid_is_422(client: httpx.AsyncClient, alice: User, body: dict[str, object]) -> None:
    assert_error(await client.post(f"{API}/tags", json=body, headers=alice.auth), 422, "validation_error")


async def test_create_malformed_is_400(client: httpx.AsyncClient, alice: User) -> None:
    headers = {**alice.auth, "content-type": "application/json"}
    assert_error(await client.post(f"{API}/tags", content=b'{"name":', headers=headers), 400, "malformed_json")


async def test_rename_and_recolour(client: httpx.AsyncClient, alice: User) -> None:
    tag = await create_tag(client, alice, "Old name", "#111111")
    response = await client.put(f"{API}/tags/{tag['id']}", json={"name": "New name"}, headers=alice.auth)
    assert response.status_code == 200 and response.json()["color"] == "#111111"
    response = await client.patch(f"{API}/tags/{tag['id']}", json={"color": None}, headers=alice.auth)
    assert response.json() == {**tag, "name": "New name", "color": None}
    other = await create_tag(client, alice, "Taken")
    clash = await client.put(f"{API}/tags/{tag['id']}", json={"name": other["name"].lower()}, headers=alice.auth)
    assert_error(clash, 409, "tag_exists")
    assert_error(
        await client.put(f"{API}/tags/{tag['id']}", json={"name": None}, headers=alice.auth), 422, "validation_error"
    )


async def test_delete_untags_items(client: httpx.AsyncClient, alice: User) -> None:
    wishlist = await create_wishlist(client, alice)
    keep, drop = await create_tag(client, alice, "Keep"), await create_tag(client, alice, "Drop")
    item = await create_item(client, alice, wishlist["id"], tag_ids=[keep["id"], drop["id"]])
    assert (await client.delete(f"{API}/tags/{drop['id']}", headers=alice.auth)).status_code == 204
    after = (await client.get(f"{API}/items/{item['id']}", headers=alice.auth)).json()
    assert [t["id"] for t in after["tags"]] == [keep["id"]]
    assert_error(await client.delete(f"{API}/tags/{drop['id']}", headers=alice.auth), 404, "not_found")


async def test_someone_elses_tag_is_404(client: httpx.AsyncClient, alice: User, bob: User) -> None:
    tag = await create_tag(client, alice, "Private")
    url = f"{API}/tags/{tag['id']}"
    assert_error(await client.get(url, headers=bob.auth), 404, "not_found")
    assert_error(await client.put(url, json={"name": "Stolen"}, headers=bob.auth), 404, "not_found")
    assert_error(await client.delete(url, headers=bob.auth), 404, "not_found")
    assert (await client.get(url, headers=alice.auth)).json()["name"] == "Private"
    for method in ("GET", "PUT", "DELETE"):
        assert_error(await client.request(method, f"{API}/tags/xyz", json={}, headers=alice.auth), 404, "not_found")
