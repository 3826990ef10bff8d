"""Writes that lose a race with a deletion committed meanwhile answer 4xx, never 500.

Each request finds what it refers to when it looks, and finds it gone when its write commits
(:func:`tests.support.races.committed_under` makes that interleaving happen every time).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from shared.tenant import TenantContext
from tests.support.races import WAITED_ON, committed_under
from tests.support.waiting import wait_for
from tests.tenants.wishlist.conftest import (
    API,
    MakeUser,
    User,
    assert_error,
    create_item,
    create_tag,
    create_wishlist,
)

Ctx = Callable[[str], TenantContext]


async def racing(
    client: httpx.AsyncClient, tenant_ctx: Ctx, deletion: str, row: int, user: User, method: str, path: str,
    body: Any = None,
) -> httpx.Response:  # fmt: skip
    """``user``'s request, answered while ``deletion`` of ``row`` commits under it."""
    request = client.request(method, API + path, json=body, headers=user.auth)
    async with tenant_ctx("wishlist").db.raw() as db:
        return await committed_under(db, deletion, row, request=request)


async def test_an_account_deleted_while_it_writes_is_signed_out(
    client: httpx.AsyncClient, make_user: MakeUser, tenant_ctx: Ctx
) -> None:
    for path, body in (("/wishlists", {"title": "Late"}), ("/tags", {"name": "late"})):
        ann = await make_user("Ann")
        answer = await racing(client, tenant_ctx, "DELETE FROM users WHERE id = $1", ann.id, ann, "POST", path, body)
        assert_error(answer, 401, "unauthorized")


async def test_a_reservation_racing_a_deletion_is_a_conflict(
    client: httpx.AsyncClient, make_user: MakeUser, tenant_ctx: Ctx
) -> None:
    for table in ("users", "items"):
        ann, friend = await make_user("Ann"), await make_user("Friend")
        wishlist = await create_wishlist(client, ann, visibility="shared")
        item = await create_item(client, ann, wishlist["id"])
        path = f"/shared/{wishlist['share_token']}/items/{item['id']}/reservation"
        row = friend.id if table == "users" else item["id"]
        answer = await racing(client, tenant_ctx, f"DELETE FROM {table} WHERE id = $1", row, friend, "POST", path)
        assert "deleted" in assert_error(answer, 409, "conflict")["message"]
        reserved = "SELECT count(*) FROM reservations WHERE item_id = $1"
        async with tenant_ctx("wishlist").db.raw() as db:
            assert await db.fetchval(reserved, item["id"]) == 0


async def test_items_racing_the_deletion_of_their_list_or_tag_are_refused_as_unknown(
    client: httpx.AsyncClient, make_user: MakeUser, tenant_ctx: Ctx
) -> None:
    ann = await make_user("Ann")
    wishlist = await create_wishlist(client, ann)
    tag = await create_tag(client, ann, "soon-gone")
    body = {"wishlist_id": wishlist["id"], "name": "Kite", "tag_ids": [tag["id"]]}
    untagged = await racing(
        client, tenant_ctx, "DELETE FROM tags WHERE id = $1", tag["id"], ann, "POST", "/items", body
    )
    assert_error(untagged, 422, "validation_error")
    body = {"wishlist_id": wishlist["id"], "name": "Kite"}
    orphan = await racing(
        client, tenant_ctx, "DELETE FROM wishlists WHERE id = $1", wishlist["id"], ann, "POST", "/items", body
    )
    assert_error(orphan, 404, "not_found")


async def test_an_item_released_while_someone_else_reserves_it_is_theirs(
    client: httpx.AsyncClient, make_user: MakeUser, tenant_ctx: Ctx
) -> None:
    ann, bob, cleo = await make_user("Ann"), await make_user("Bob"), await make_user("Cleo")
    wishlist = await create_wishlist(client, ann, visibility="shared")
    item = await create_item(client, ann, wishlist["id"])
    path = f"{API}/shared/{wishlist['share_token']}/items/{item['id']}/reservation"
    assert (await client.post(path, headers=bob.auth)).status_code == 201
    async with tenant_ctx("wishlist").db.raw() as db:
        # Cleo's reservation finds Bob's, then (held here, past its insert) Bob's release commits
        # before it reads who holds the item: it must find the item free, not "reserved".
        await db.execute(
            """CREATE FUNCTION hold_reservations() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN PERFORM pg_advisory_xact_lock(4242); RETURN NULL; END $$;
               CREATE TRIGGER hold_reservations AFTER INSERT ON reservations
               FOR EACH STATEMENT EXECUTE FUNCTION hold_reservations()"""
        )
        try:
            async with db.transaction():
                await db.execute("SELECT pg_advisory_xact_lock(4242)")
                answer = asyncio.ensure_future(client.post(path, headers=cleo.auth))
                await wait_for(lambda: db.fetchval(WAITED_ON))
                await db.execute("DELETE FROM reservations WHERE item_id = $1", item["id"])
            reserved = await answer
        finally:
            await db.execute("DROP TRIGGER hold_reservations ON reservations; DROP FUNCTION hold_reservations()")
        assert reserved.status_code == 201, reserved.text
        assert await db.fetchval("SELECT user_id FROM reservations WHERE item_id = $1", item["id"]) == cleo.id
