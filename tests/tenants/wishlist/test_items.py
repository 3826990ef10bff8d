"""Items: validation of prices, currencies, links, priorities and tags; partial updates; ownership."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tenants.wishlist.routes_items import MAX_ITEMS_PER_WISHLIST
from tests.tenants.wishlist.conftest import API, User, assert_error, create_item, create_tag, create_wishlist


async def test_create_with_every_field(client: httpx.AsyncClient, alice: User) -> None:
    wishlist = await create_wishlist(client, alice)
    red, blue = await create_tag(client, alice, "Red", "#ff0000"), await create_tag(client, alice, "blue")
    item = await create_item(
        client,
        alice,
        wishlist["id"],
        name="Bike",
        url="https://shop.example/bike?id=1",
        price=499.9,
        currency="eur",
        notes="Size M",
        priority=1,
        tag_ids=[red["id"], blue["id"], red["id"]],
    )
    assert item["price"] == "499.90" and item["currency"] == "EUR" and item["priority"] == 1
    assert item["url"] == "https://shop.example/bike?id=1" and item["notes"] == "Size M"
    assert [t["name"] for t in item["tags"]] == ["blue", "Red"]  # by name, case-insensitively
    assert item["wishlist_id"] == wishlist["id"]
    fetched = await client.get(f"{API}/items/{item['id']}", headers=alice.auth)
    assert fetched.status_code == 200 and fetched.json() == item


async def test_create_minimal_takes_defaults(client: httpx.AsyncClient, alice: User) -> None:
    wishlist = await create_wishlist(client, alice)
    item = await create_item(client, alice, wishlist["id"])
    assert item["priority"] == 3 and item["notes"] == "" and item["tags"] == []
    assert item["url"] is None and item["price"] is None and item["currency"] is None


@pytest.mark.parametrize(
    "fields",
    [
        {"name": ""},
        {"name": None},
        {"url": "javascript:alert(1)"},
        {"url": "ftp://files.example/x"},
        {"url": "https://"},
        {"url": "https://exa mple.com"},
        {"price": "12.345", "currency": "EUR"},
        {"price": "1500.5", "currency": "JPY"},
        {"price": "1.2345", "currency": "KWD"},
        {"price": "-1", "currency": "EUR"},
        {"price": "abc", "currency": "EUR"},
        {"price": "NaN", "currency": "EUR"},
        {"price": True, "currency": "EUR"},
        {"price": "10000000000", "currency": "EUR"},
        {"price": "10"},
        {"currency": "EUR"},
        {"price": "10", "currency": "EURO"},
        {"price": "10", "currency": "XYZ"},
        {"price": "10", "currency": 978},
        {"priority": 0},
        {"priority": 6},
        {"priority": "2"},
        {"priority": True},
        {"priority": None},
        {"notes": None},
        {"tag_ids": "1"},
        {"tag_ids": [True]},
        {"tag_ids": list(range(1, 22))},
        {"wishlist_id": "1"},
        {"reserved": True},
    ],
)
async def test_create_invalid_is_422(client: httpx.AsyncClient, alice: User, fields: dict[str, Any]) -> None:
    wishlist = await create_wishlist(client, alice)
    body = {"wishlist_id": wishlist["id"], "name": "Thing", **fields}
    assert_error(await client.post(f"{API}/items", json=body, headers=alice.auth), 422, "validation_error")


async def test_create_missing_wishlist_id_and_malformed(client: httpx.AsyncClient, alice: User) -> None:
    assert_error(await client.post(f"{API}/items", json={"name": "x"}, headers=alice.auth), 422, "validation_error")
    headers = {**alice.auth, "content-type": "application/json"}
    assert_error(await client.post(f"{API}/items", content=b"nope", headers=headers), 400, "malformed_json")
    big = {"wishlist_id": 1, "name": "x", "notes": "n" * 1_200_000}
    assert_error(await client.post(f"{API}/items", json=big, headers=alice.auth), 413, "payload_too_large")


async def test_create_on_someone_elses_wishlist_is_404(client: httpx.AsyncClient, alice: User, bob: User) -> None:
    theirs = await create_wishlist(client, alice)
    response = await client.post(f"{API}/items", json={"wishlist_id": theirs["id"], "name": "x"}, headers=bob.auth)
    assert_error(response, 404, "not_found")
    response = await client.post(f"{API}/items", json={"wishlist_id": 2**62, "name": "x"}, headers=bob.auth)
    assert_error(response, 404, "not_found")


async def test_tags_must_be_the_callers_own(client: httpx.AsyncClient, alice: User, bob: User) -> None:
    wishlist = await create_wishlist(client, bob)
    alices = await create_tag(client, alice, "Secret")
    response = await client.post(
        f"{API}/items", json={"wishlist_id": wishlist["id"], "name": "x", "tag_ids": [alices["id"]]}, headers=bob.auth
    )
    error = assert_error(response, 422, "validation_error")
    assert error["details"] == [{"field": "tag_ids", "message": f"unknown tag ids: {alices['id']}"}]
    items = await client.get(f"{API}/wishlists/{wishlist['id']}/items", headers=bob.auth)
    assert items.json() == {"items": []}  # the failed create left nothing behind


async def test_update_is_partial(client: httpx.AsyncClient, alice: User) -> None:
    wishlist = await create_wishlist(client, alice)
    tag = await create_tag(client, alice, "Kitchen")
    item = await create_item(client, alice, wishlist["id"], name="Pan", price="20", currency="EUR", tag_ids=[tag["id"]])
    response = await client.put(f"{API}/items/{item['id']}", json={"notes": "Cast iron"}, headers=alice.auth)
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["notes"] == "Cast iron" and doc["name"] == "Pan" and doc["price"] == "20.00"
    assert doc["tags"] == item["tags"] and doc["updated_at"] > item["updated_at"]
    cleared = await client.patch(f"{API}/items/{item['id']}", json={"tag_ids": [], "url": None}, headers=alice.auth)
    assert cleared.json()["tags"] == [] and cleared.json()["notes"] == "Cast iron"


async def test_price_and_currency_go_together(client: httpx.AsyncClient, alice: User) -> None:
    wishlist = await create_wishlist(client, alice)
    item = await create_item(client, alice, wishlist["id"])
    url = f"{API}/items/{item['id']}"
    assert_error(await client.put(url, json={"price": "5"}, headers=alice.auth), 422, "validation_error")
    assert_error(await client.put(url, json={"currency": "GBP"}, headers=alice.auth), 422, "validation_error")
    priced = await client.put(url, json={"price": "5", "currency": "gbp"}, headers=alice.auth)
    assert priced.json()["price"] == "5.00" and priced.json()["currency"] == "GBP"
    repriced = await client.put(url, json={"price": "7.5"}, headers=alice.auth)
    assert repriced.json()["price"] == "7.50" and repriced.json()["currency"] == "GBP"
    assert_error(await client.put(url, json={"currency": None}, headers=alice.auth), 422, "validation_error")
    # Clearing the price clears its currency: a currency alone means nothing.
    unpriced = await client.put(url, json={"price": None}, headers=alice.auth)
    assert unpriced.json()["price"] is None and unpriced.json()["currency"] is None


async def test_prices_follow_their_currency_minor_units(client: httpx.AsyncClient, alice: User) -> None:
    """Yen have no cents and a Kuwaiti dinar has three places: a price reads as people write it."""
    wishlist = await create_wishlist(client, alice)
    yen = await create_item(client, alice, wishlist["id"], price="1500.00", currency="JPY")
    assert yen["price"] == "1500"
    dinar = await create_item(client, alice, wishlist["id"], price=1.25, currency="kwd")
    assert dinar["price"] == "1.250" and dinar["currency"] == "KWD"
    euro = await create_item(client, alice, wishlist["id"], price="1e3", currency="EUR")
    assert euro["price"] == "1000.00"

    url = f"{API}/items/{yen['id']}"
    refused = assert_error(await client.put(url, json={"price": "99.5"}, headers=alice.auth), 422, "validation_error")
    assert refused["details"] == [{"field": "price", "message": "JPY prices are whole amounts"}]
    # Changing only the currency re-prices the stored amount, or names why it cannot.
    euros = await client.put(url, json={"currency": "EUR"}, headers=alice.auth)
    assert euros.json()["price"] == "1500.00" and euros.json()["currency"] == "EUR"
    cents = await client.put(url, json={"price": "12.34"}, headers=alice.auth)
    assert cents.json()["price"] == "12.34"
    back = assert_error(await client.put(url, json={"currency": "JPY"}, headers=alice.auth), 422, "validation_error")
    assert back["details"] == [{"field": "price", "message": "JPY prices are whole amounts"}]
    fine = await client.put(f"{API}/items/{dinar['id']}", json={"price": "2.5"}, headers=alice.auth)
    assert fine.json()["price"] == "2.500"
    listed = (await client.get(f"{API}/wishlists/{wishlist['id']}", headers=alice.auth)).json()
    assert sorted(i["price"] for i in listed["items"]) == ["1000.00", "12.34", "2.500"]


async def test_move_between_own_wishlists_only(client: httpx.AsyncClient, alice: User, bob: User) -> None:
    first, second = await create_wishlist(client, alice), await create_wishlist(client, alice)
    bobs = await create_wishlist(client, bob)
    item = await create_item(client, alice, first["id"])
    url = f"{API}/items/{item['id']}"
    moved = await client.put(url, json={"wishlist_id": second["id"]}, headers=alice.auth)
    assert moved.status_code == 200 and moved.json()["wishlist_id"] == second["id"]
    assert_error(await client.put(url, json={"wishlist_id": bobs["id"]}, headers=alice.auth), 404, "not_found")
    assert (await client.get(url, headers=alice.auth)).json()["wishlist_id"] == second["id"]


@pytest.mark.parametrize(
    "body",
    [{"name": None}, {"wishlist_id": None}, {"priority": 9}, {"tag_ids": None}, {"id": 5}, {"url": "mailto:a@b.c"}],
)
async def test_update_invalid_is_422(client: httpx.AsyncClient, alice: User, body: dict[str, Any]) -> None:
    wishlist = await create_wishlist(client, alice)
    item = await create_item(client, alice, wishlist["id"])
    assert_error(await client.put(f"{API}/items/{item['id']}", json=body, headers=alice.auth), 422, "validation_error")


async def test_someone_elses_item_is_404(client: httpx.AsyncClient, alice: User, bob: User) -> None:
    wishlist = await create_wishlist(client, alice)
    item = await create_item(client, alice, wishlist["id"])
    url = f"{API}/items/{item['id']}"
    assert_error(await client.get(url, headers=bob.auth), 404, "not_found")
    assert_error(await client.put(url, json={"name": "Mine"}, headers=bob.auth), 404, "not_found")
    assert_error(await client.delete(url, headers=bob.auth), 404, "not_found")
    assert (await client.get(url, headers=alice.auth)).json()["name"] == "Book"


async def test_unknown_and_non_numeric_item_ids(client: httpx.AsyncClient, alice: User) -> None:
    for path in ("/items/424242424", "/items/abc", "/items/-1", "/items/18446744073709551616"):
        for method in ("GET", "PUT", "DELETE"):
            response = await client.request(method, API + path, json={"name": "x"}, headers=alice.auth)
            assert_error(response, 404, "not_found")


async def test_delete(client: httpx.AsyncClient, alice: User) -> None:
    wishlist = await create_wishlist(client, alice)
    item = await create_item(client, alice, wishlist["id"])
    assert (await client.delete(f"{API}/items/{item['id']}", headers=alice.auth)).status_code == 204
    assert_error(await client.get(f"{API}/items/{item['id']}", headers=alice.auth), 404, "not_found")
    assert (await client.get(f"{API}/wishlists/{wishlist['id']}", headers=alice.auth)).json()["item_count"] == 0


async def test_a_full_wishlist_is_409(client: httpx.AsyncClient, alice: User, tenant_ctx: Callable[[str], Any]) -> None:
    wishlist = await create_wishlist(client, alice)
    async with tenant_ctx("wishlist").db.transaction() as conn:
        await conn.execute(
            sa.text("INSERT INTO items (wishlist_id, name) SELECT :w, 'filler ' || n FROM generate_series(1, :n) n"),
            {"w": wishlist["id"], "n": MAX_ITEMS_PER_WISHLIST},
        )
    response = await client.post(
        f"{API}/items", json={"wishlist_id": wishlist["id"], "name": "one more"}, headers=alice.auth
    )
    assert_error(response, 409, "wishlist_full")
    doc = (await client.get(f"{API}/wishlists/{wishlist['id']}", headers=alice.auth)).json()
    assert doc["item_count"] == len(doc["items"]) == MAX_ITEMS_PER_WISHLIST
