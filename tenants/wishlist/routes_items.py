"""Items on the signed-in user's wishlists, with their tags."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.db.pool import driver
from shared.errors import ApiError, not_found
from shared.http.body import read_json
from shared.http.responses import raw_json_response
from shared.tenant import TenantContext
from tenants.wishlist import queries
from tenants.wishlist.currencies import in_minor_units, minor_units
from tenants.wishlist.schemas import ItemCreate, ItemUpdate
from tenants.wishlist.web import caller_id, invalid, path_id

# Bounds the hot-path document (one wishlist with every item) on a memory-capped box.
MAX_ITEMS_PER_WISHLIST = 500


async def lock_wishlist(conn: AsyncConnection, wishlist_id: int, owner: int) -> None:
    """Lock an own wishlist for adding an item: 404 if it isn't the caller's, 409 when full.

    The row lock serialises concurrent additions, so the limit holds under races.
    """
    count = (
        await conn.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM items i WHERE i.wishlist_id = w.id) FROM wishlists w "
                "WHERE w.id = :id AND w.owner_id = :owner FOR UPDATE"
            ),
            {"id": wishlist_id, "owner": owner},
        )
    ).scalar()
    if count is None:
        raise not_found("wishlist")
    if count >= MAX_ITEMS_PER_WISHLIST:
        raise ApiError(409, "wishlist_full", f"A wishlist holds at most {MAX_ITEMS_PER_WISHLIST} items.")


async def set_tags(conn: AsyncConnection, item_id: int, owner: int, tag_ids: Sequence[int]) -> None:
    """Make ``tag_ids`` the item's tags; every one must be the caller's own tag (else 422)."""
    # KEY SHARE keeps the tags from being deleted between this check and the insert.
    found = set(
        (
            await conn.execute(
                sa.text("SELECT id FROM tags WHERE owner_id = :owner AND id = ANY(:ids) FOR KEY SHARE"),
                {"owner": owner, "ids": list(tag_ids)},
            )
        ).scalars()
    )
    unknown = [tag_id for tag_id in tag_ids if tag_id not in found]
    if unknown:
        raise invalid("tag_ids", "unknown tag ids: " + ", ".join(map(str, unknown)))
    await conn.execute(sa.text("DELETE FROM item_tags WHERE item_id = :id"), {"id": item_id})
    await conn.execute(
        sa.text("INSERT INTO item_tags (item_id, tag_id) SELECT :id, unnest(CAST(:ids AS bigint[]))"),
        {"id": item_id, "ids": list(tag_ids)},
    )


def check_price(changes: dict[str, Any], price: Decimal | None, currency: str | None) -> None:
    """Price and currency go together; clearing the price clears its currency too. A price given
    or re-priced is written to its currency's places (refused if finer than its smallest unit)."""
    if "price" in changes and changes["price"] is None and "currency" not in changes:
        changes["currency"] = None
    price = changes.get("price", price)
    currency = changes.get("currency", currency)
    if (price is None) != (currency is None):
        raise invalid("price" if price is None else "currency", "price and currency go together: give both or neither")
    if price is not None and currency is not None and ("price" in changes or "currency" in changes):
        exact = in_minor_units(price, currency)
        if exact is None:
            places = minor_units(currency)
            rule = "are whole amounts" if places == 0 else f"have at most {places} decimal places"
            raise invalid("price", f"{currency} prices {rule}")
        changes["price"] = exact


def routes(ctx: TenantContext) -> list[Route]:
    """Routes under ``/api/items``."""

    async def create_item(request: Request) -> Response:
        """Add an item to an own wishlist; answers the item with its tags."""
        owner = await caller_id(ctx, request)
        body = await read_json(request, ItemCreate)
        values = body.model_dump(exclude={"tag_ids"}, exclude_none=True)
        check_price(values, None, None)
        async with ctx.db.transaction() as conn:
            await lock_wishlist(conn, body.wishlist_id, owner)
            # Columns come from the model's fields; left-out ones take the table's defaults.
            columns = ", ".join(values)
            params = ", ".join(f":{name}" for name in values)
            item_id = (
                await conn.execute(sa.text(f"INSERT INTO items ({columns}) VALUES ({params}) RETURNING id"), values)
            ).scalar_one()
            if body.tag_ids:
                await set_tags(conn, item_id, owner, body.tag_ids)
            doc = await queries.item_document(await driver(conn), item_id, owner)
        return raw_json_response(str(doc), status=201)

    async def get_item(request: Request) -> Response:
        """One own item with its tags."""
        owner = await caller_id(ctx, request)
        item_id = path_id(request, "item")
        async with ctx.db.raw() as db:
            doc = await queries.item_document(db, item_id, owner)
        if doc is None:
            raise not_found("item")
        return raw_json_response(doc)

    async def update_item(request: Request) -> Response:
        """Change some fields of an own item; ``tag_ids`` replaces the tag set; ``wishlist_id`` moves it."""
        owner = await caller_id(ctx, request)
        item_id = path_id(request, "item")
        changes = (await read_json(request, ItemUpdate)).changes()
        async with ctx.db.transaction() as conn:
            current = (
                await conn.execute(
                    sa.text(
                        "SELECT i.wishlist_id, i.price, i.currency "
                        "FROM items i JOIN wishlists w ON w.id = i.wishlist_id "
                        "WHERE i.id = :id AND w.owner_id = :owner FOR UPDATE OF i"
                    ),
                    {"id": item_id, "owner": owner},
                )
            ).first()
            if current is None:
                raise not_found("item")
            check_price(changes, current.price, current.currency)
            if changes.get("wishlist_id", current.wishlist_id) != current.wishlist_id:
                await lock_wishlist(conn, changes["wishlist_id"], owner)
            tag_ids = changes.pop("tag_ids", None)
            if tag_ids is not None:
                await set_tags(conn, item_id, owner, tag_ids)
            if changes or tag_ids is not None:
                # Column names come from the model's fields (unknown keys were refused), never the caller.
                sets = "".join(f"{name} = :{name}, " for name in changes)
                await conn.execute(
                    sa.text(f"UPDATE items SET {sets}updated_at = now() WHERE id = :id"), {**changes, "id": item_id}
                )
            doc = await queries.item_document(await driver(conn), item_id, owner)
        return raw_json_response(str(doc))

    async def delete_item(request: Request) -> Response:
        """Delete an own item (and any reservation of it)."""
        owner = await caller_id(ctx, request)
        item_id = path_id(request, "item")
        async with ctx.db.transaction() as conn:
            deleted = (
                await conn.execute(
                    sa.text(
                        "DELETE FROM items i USING wishlists w "
                        "WHERE i.id = :id AND w.id = i.wishlist_id AND w.owner_id = :owner RETURNING i.id"
                    ),
                    {"id": item_id, "owner": owner},
                )
            ).scalar()
        if deleted is None:
            raise not_found("item")
        return Response(status_code=204)

    return [
        Route("/api/items", create_item, methods=["POST"]),
        Route("/api/items/{id:id}", get_item, methods=["GET"]),
        Route("/api/items/{id:id}", update_item, methods=["PUT", "PATCH"]),
        Route("/api/items/{id:id}", delete_item, methods=["DELETE"]),
    ]
