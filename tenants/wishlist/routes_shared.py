"""The gift-list side: reading a wishlist through its link and reserving items on it.

``shared`` lists are for signed-in people holding the link; ``public`` ones are readable by anyone
holding it, account or not; ``private`` ones answer 404 as if the link didn't exist. Reserving
always needs an account, so a reservation can be released later by the one who made it. Owners
are never told who reserved what.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.errors import ApiError, not_found, unauthorized
from shared.http.responses import json_response, raw_json_response
from shared.tenant import TenantContext
from tenants.wishlist import queries
from tenants.wishlist.web import caller_id, optional_caller_id, path_id


async def shared_item_owner(conn: AsyncConnection, token: str, item_id: int) -> int:
    """The owner of an item on the shared or public list behind ``token``; 404 otherwise."""
    owner = (
        await conn.execute(
            sa.text(
                "SELECT w.owner_id FROM items i JOIN wishlists w ON w.id = i.wishlist_id "
                "WHERE i.id = :item AND w.share_token = :token AND w.visibility <> 'private'"
            ),
            {"item": item_id, "token": token},
        )
    ).scalar()
    if owner is None:
        raise not_found("item")
    return int(owner)


async def _insert_reservation(conn: AsyncConnection, item_id: int, viewer: int) -> bool:
    """Reserve ``item_id`` for ``viewer``; False when someone (maybe the viewer) holds it already."""
    made = await conn.execute(
        sa.text(
            "INSERT INTO reservations (item_id, user_id) VALUES (:item, :viewer) "
            "ON CONFLICT (item_id) DO NOTHING RETURNING user_id"
        ),
        {"item": item_id, "viewer": viewer},
    )
    return made.scalar() is not None


def reservation(item_id: int) -> dict[str, object]:
    """The answer to the reserver."""
    return {"item_id": item_id, "reserved": True, "reserved_by_me": True}


def routes(ctx: TenantContext) -> list[Route]:
    """Routes under ``/api/shared`` and ``/api/reservations``."""

    async def shared_wishlist(request: Request) -> Response:
        """A shared or public wishlist through its link; items say ``reserved`` and ``reserved_by_me``."""
        viewer = await optional_caller_id(ctx, request)
        async with ctx.db.raw() as db:
            found = await queries.shared_document(db, request.path_params["token"], viewer)
        if found is None:
            raise not_found("wishlist")
        visibility, doc = found
        if visibility == "shared" and viewer is None:
            raise unauthorized("Sign in to see this wishlist.")
        return raw_json_response(doc)

    async def reserve(request: Request) -> Response:
        """Reserve an item for yourself: 201, or 200 if it already was yours; 409 if someone else has it."""
        viewer = await caller_id(ctx, request)
        item_id = path_id(request, "item", "item_id")
        async with ctx.db.transaction() as conn:
            if await shared_item_owner(conn, request.path_params["token"], item_id) == viewer:
                raise ApiError(403, "own_item", "You can't reserve items on your own wishlist.")
            # The primary key on item_id makes two concurrent reservations resolve as one winner.
            # A holder releasing between the insert and the read leaves none: try again, a few times.
            holder = None
            for _attempt in range(3):
                if await _insert_reservation(conn, item_id, viewer):
                    return json_response(reservation(item_id), status=201)
                holder = (
                    await conn.execute(
                        sa.text("SELECT user_id FROM reservations WHERE item_id = :item"), {"item": item_id}
                    )
                ).scalar()
                if holder is not None:
                    break
        if holder != viewer:
            raise ApiError(409, "already_reserved", "Someone else has already reserved this item.")
        return json_response(reservation(item_id))

    async def unreserve(request: Request) -> Response:
        """Release your reservation (204, also when there was none); someone else's is 403."""
        viewer = await caller_id(ctx, request)
        item_id = path_id(request, "item", "item_id")
        async with ctx.db.transaction() as conn:
            await shared_item_owner(conn, request.path_params["token"], item_id)
            released = (
                await conn.execute(
                    sa.text("DELETE FROM reservations WHERE item_id = :item AND user_id = :viewer RETURNING item_id"),
                    {"item": item_id, "viewer": viewer},
                )
            ).scalar()
            holder = None
            if released is None:
                holder = (
                    await conn.execute(
                        sa.text("SELECT user_id FROM reservations WHERE item_id = :item"), {"item": item_id}
                    )
                ).scalar()
        if holder is not None:
            raise ApiError(403, "not_your_reservation", "Only the person who reserved an item can release it.")
        return Response(status_code=204)

    async def my_reservations(request: Request) -> Response:
        """``{"reservations": [...]}``: items you reserved on lists still shared with you."""
        viewer = await caller_id(ctx, request)
        async with ctx.db.raw() as db:
            doc = await queries.my_reservations(db, viewer)
        return raw_json_response(doc)

    return [
        Route("/api/shared/{token}", shared_wishlist, methods=["GET"]),
        Route("/api/shared/{token}/items/{item_id:id}/reservation", reserve, methods=["POST"]),
        Route("/api/shared/{token}/items/{item_id:id}/reservation", unreserve, methods=["DELETE"]),
        Route("/api/reservations", my_reservations, methods=["GET"]),
    ]
