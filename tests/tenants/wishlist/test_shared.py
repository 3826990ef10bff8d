"""The gift list: reading through the share link, reserving, and keeping the owner in the dark."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.tenants.wishlist.conftest import API, MakeUser, User, assert_error, create_item, create_wishlist


async def shared_list(client: httpx.AsyncClient, owner: User, visibility: str) -> tuple[dict[str, Any], dict[str, Any]]:
    wishlist = await create_wishlist(client, owner, title="Gifts", visibility=visibility)
    item = await create_item(client, owner, wishlist["id"], name="Scarf", price="15", currency="EUR")
    return wishlist, item


def reservation_url(wishlist: dict[str, Any], item: dict[str, Any]) -> str:
    return f"{API}/shared/{wishlist['share_token']}/items/{item['id']}/reservation"


async def test_visibility_decides_who_reads_the_link(client: httpx.AsyncClient, alice: User, bob: User) -> None:
    private, _ = await shared_list(client, alice, "private")
    shared, _ = await shared_list(client, alice, "shared")
    public, _ = await shared_list(client, alice, "public")
    assert_error(await client.get(f"{API}/shared/{private['share_token']}", headers=bob.auth), 404, "not_found")
    assert_error(await client.get(f"{API}/shared/{private['share_token']}"), 404, "not_found")
    assert_error(await client.get(f"{API}/shared/{shared['share_token']}"), 401, "unauthorized")
    assert (await client.get(f"{API}/shared/{shared['share_token']}", headers=bob.auth)).status_code == 200
    anonymous = await client.get(f"{API}/shared/{public['share_token']}")
    assert anonymous.status_code == 200
    doc = anonymous.json()
    assert doc["title"] == "Gifts" and doc["owner"] == {"name": "Alice"} and doc["viewer_is_owner"] is False
    assert doc["items"][0]["reserved"] is False and doc["items"][0]["reserved_by_me"] is False
    # Visitors never see the owner's link secret, ids or email.
    assert "share_token" not in anonymous.text and alice.email not in anonymous.text
    assert_error(await client.get(f"{API}/shared/no-such-token"), 404, "not_found")


async def test_a_bad_bearer_token_on_the_link_is_401(client: httpx.AsyncClient, alice: User) -> None:
    public, _ = await shared_list(client, alice, "public")
    response = await client.get(f"{API}/shared/{public['share_token']}", headers={"Authorization": "Bearer junk"})
    assert_error(response, 401, "unauthorized")


async def test_reserve_flow(client: httpx.AsyncClient, alice: User, bob: User, make_user: MakeUser) -> None:
    carol = await make_user("Carol")
    wishlist, item = await shared_list(client, alice, "shared")
    url = reservation_url(wishlist, item)
    first = await client.post(url, headers=bob.auth)
    assert first.status_code == 201 and first.json() == {
        "item_id": item["id"],
        "reserved": True,
        "reserved_by_me": True,
    }
    assert (await client.post(url, headers=bob.auth)).status_code == 200  # again: still Bob's
    assert_error(await client.post(url, headers=carol.auth), 409, "already_reserved")
    as_bob = (await client.get(f"{API}/shared/{wishlist['share_token']}", headers=bob.auth)).json()["items"][0]
    as_carol = (await client.get(f"{API}/shared/{wishlist['share_token']}", headers=carol.auth)).json()["items"][0]
    assert (as_bob["reserved"], as_bob["reserved_by_me"]) == (True, True)
    assert (as_carol["reserved"], as_carol["reserved_by_me"]) == (True, False)
    assert_error(await client.delete(url, headers=carol.auth), 403, "not_your_reservation")
    assert (await client.delete(url, headers=bob.auth)).status_code == 204
    assert (await client.delete(url, headers=bob.auth)).status_code == 204  # releasing twice is harmless
    assert (await client.post(url, headers=carol.auth)).status_code == 201


async def test_the_owner_never_learns_who_reserved(client: httpx.AsyncClient, alice: User, bob: User) -> None:
    wishlist, item = await shared_list(client, alice, "public")
    assert (await client.post(reservation_url(wishlist, item), headers=bob.auth)).status_code == 201
    for path in (f"/wishlists/{wishlist['id']}", f"/wishlists/{wishlist['id']}/items", f"/items/{item['id']}"):
        response = await client.get(API + path, headers=alice.auth)
        assert response.status_code == 200
        assert "reserv" not in response.text and "Bob" not in response.text and bob.email not in response.text
    own_link = await client.get(f"{API}/shared/{wishlist['share_token']}", headers=alice.auth)
    assert own_link.json()["viewer_is_owner"] is True and "reserved" not in own_link.text
    assert_error(await client.post(reservation_url(wishlist, item), headers=alice.auth), 403, "own_item")


async def test_reserving_needs_an_account_and_a_real_item(client: httpx.AsyncClient, alice: User, bob: User) -> None:
    wishlist, item = await shared_list(client, alice, "public")
    assert_error(await client.post(reservation_url(wishlist, item)), 401, "unauthorized")
    elsewhere, other = await shared_list(client, alice, "public")
    # An item of another list, a private list, an unknown token or id: all simply not found.
    assert_error(await client.post(reservation_url(wishlist, other), headers=bob.auth), 404, "not_found")
    private, hidden = await shared_list(client, alice, "private")
    assert_error(await client.post(reservation_url(private, hidden), headers=bob.auth), 404, "not_found")
    assert_error(
        await client.post(f"{API}/shared/nope/items/{item['id']}/reservation", headers=bob.auth), 404, "not_found"
    )
    for bad_id in ("abc", "99999999999999999999"):
        response = await client.post(
            f"{API}/shared/{wishlist['share_token']}/items/{bad_id}/reservation", headers=bob.auth
        )
        assert_error(response, 404, "not_found")
    assert_error(await client.delete(reservation_url(private, hidden), headers=bob.auth), 404, "not_found")
    assert elsewhere["id"] != wishlist["id"]


async def test_my_reservations(client: httpx.AsyncClient, alice: User, make_user: MakeUser) -> None:
    giver = await make_user("Giver")
    wishlist, item = await shared_list(client, alice, "shared")
    assert (await client.get(f"{API}/reservations", headers=giver.auth)).json() == {"reservations": []}
    await client.post(reservation_url(wishlist, item), headers=giver.auth)
    body = (await client.get(f"{API}/reservations", headers=giver.auth)).json()
    [entry] = body["reservations"]
    assert entry["item"]["name"] == "Scarf" and entry["item"]["price"] == "15.00"
    assert entry["wishlist"] == {"title": "Gifts", "owner": {"name": "Alice"}, "share_token": wishlist["share_token"]}
    # Once the owner makes the list private, it no longer shows up for the giver.
    await client.put(f"{API}/wishlists/{wishlist['id']}", json={"visibility": "private"}, headers=alice.auth)
    assert (await client.get(f"{API}/reservations", headers=giver.auth)).json() == {"reservations": []}


async def test_rotating_the_link_keeps_reservations(client: httpx.AsyncClient, alice: User, bob: User) -> None:
    wishlist, item = await shared_list(client, alice, "shared")
    await client.post(reservation_url(wishlist, item), headers=bob.auth)
    rotated = (await client.post(f"{API}/wishlists/{wishlist['id']}/share-token", headers=alice.auth)).json()
    assert_error(await client.post(reservation_url(wishlist, item), headers=bob.auth), 404, "not_found")
    doc = (await client.get(f"{API}/shared/{rotated['share_token']}", headers=bob.auth)).json()
    assert doc["items"][0]["reserved_by_me"] is True


async def test_two_friends_reserving_at_once_get_one_winner(
    client: httpx.AsyncClient, alice: User, make_user: MakeUser
) -> None:
    friends = [await make_user(f"Friend{n}") for n in range(4)]
    wishlist, item = await shared_list(client, alice, "public")
    url = reservation_url(wishlist, item)
    answers = await asyncio.gather(*(client.post(url, headers=friend.auth) for friend in friends))
    assert sorted(r.status_code for r in answers) == [201, 409, 409, 409]
    assert all(r.json()["error"]["code"] == "already_reserved" for r in answers if r.status_code == 409)
