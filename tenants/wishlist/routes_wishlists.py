"""Wishlists of the signed-in user: list, create, read (the hot path), update, delete, share link."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.db.pool import driver
from shared.errors import not_found
from shared.http.body import read_json
from shared.http.responses import dumps, raw_json_response
from shared.tenant import TenantContext
from tenants.wishlist import queries
from tenants.wishlist.pagination import Cursors
from tenants.wishlist.schemas import BIGINT_MAX, PageQuery, WishlistCreate, WishlistUpdate
from tenants.wishlist.web import (
    account_exists,
    account_gone,
    caller_id,
    claimed_caller_id,
    path_id,
    query,
    signed_out,
)


def new_share_token() -> str:
    """A link secret: 128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


def routes(ctx: TenantContext, cursors: Cursors) -> list[Route]:
    """Routes under ``/api/wishlists``."""

    async def list_wishlists(request: Request) -> Response:
        """Own wishlists, newest first; ``?limit=`` (1-100, default 20) and ``?cursor=`` from ``next_cursor``."""
        owner = await caller_id(ctx, request)
        page = query(request, PageQuery)
        before = cursors.decode("wishlists", owner, page.cursor) if page.cursor else BIGINT_MAX
        async with ctx.db.raw() as db:
            rows = await queries.wishlist_page(db, owner, before, page.limit + 1)
        # One extra row says whether another page exists without a count query.
        more = len(rows) > page.limit
        rows = rows[: page.limit]
        next_cursor = cursors.encode("wishlists", owner, rows[-1][0]) if more else None
        docs = ",".join(doc for _, doc in rows).encode()
        return raw_json_response(b'{"wishlists":[' + docs + b'],"next_cursor":' + dumps(next_cursor) + b"}")

    async def create_wishlist(request: Request) -> Response:
        """Create a wishlist: ``{"title", "description", "visibility"}``; answers the new wishlist."""
        owner = await caller_id(ctx, request)
        body = await read_json(request, WishlistCreate)
        try:
            async with ctx.db.transaction() as conn:
                wishlist_id = (
                    await conn.execute(
                        sa.text(
                            "INSERT INTO wishlists (owner_id, title, description, visibility, share_token) "
                            "VALUES (:owner, :title, :description, :visibility, :token) RETURNING id"
                        ),
                        {**body.model_dump(), "owner": owner, "token": new_share_token()},
                    )
                ).scalar_one()
                doc = await queries.wishlist_document(await driver(conn), wishlist_id, owner)
        except IntegrityError as exc:
            if account_gone(exc):
                raise signed_out() from None
            raise
        return raw_json_response(str(doc), status=201)

    async def get_wishlist(request: Request) -> Response:
        """One own wishlist with its items and their tags (no reservation details: gifts stay a surprise)."""
        # The hot path stays one round trip: a found document proves the account (lists cascade
        # with it), so the account is only looked up when there is none.
        owner = await claimed_caller_id(ctx, request)
        wishlist_id = path_id(request, "wishlist")
        async with ctx.db.raw() as db:
            doc = await queries.wishlist_document(db, wishlist_id, owner)
            if doc is None and not await account_exists(db, owner):
                raise signed_out()
        if doc is None:
            raise not_found("wishlist")
        return raw_json_response(doc)

    async def update_wishlist(request: Request) -> Response:
        """Change some of ``title``, ``description``, ``visibility`` (fields left out keep their value)."""
        owner = await caller_id(ctx, request)
        wishlist_id = path_id(request, "wishlist")
        changes = (await read_json(request, WishlistUpdate)).changes()
        async with ctx.db.transaction() as conn:
            if changes:
                # Column names come from the model's fields (unknown keys were refused), never the caller.
                sets = ", ".join(f"{name} = :{name}" for name in changes)
                await conn.execute(
                    sa.text(f"UPDATE wishlists SET {sets}, updated_at = now() WHERE id = :id AND owner_id = :owner"),
                    {**changes, "id": wishlist_id, "owner": owner},
                )
            doc = await queries.wishlist_document(await driver(conn), wishlist_id, owner)
        if doc is None:
            raise not_found("wishlist")
        return raw_json_response(doc)

    async def delete_wishlist(request: Request) -> Response:
        """Delete an own wishlist with its items (and the reservations on them)."""
        owner = await caller_id(ctx, request)
        wishlist_id = path_id(request, "wishlist")
        async with ctx.db.transaction() as conn:
            deleted = (
                await conn.execute(
                    sa.text("DELETE FROM wishlists WHERE id = :id AND owner_id = :owner RETURNING id"),
                    {"id": wishlist_id, "owner": owner},
                )
            ).scalar()
        if deleted is None:
            raise not_found("wishlist")
        return Response(status_code=204)

    async def list_items(request: Request) -> Response:
        """``{"items": [...]}`` of an own wishlist, by priority (1 first) then age."""
        owner = await caller_id(ctx, request)
        wishlist_id = path_id(request, "wishlist")
        async with ctx.db.raw() as db:
            doc = await queries.wishlist_items(db, wishlist_id, owner)
        if doc is None:
            raise not_found("wishlist")
        return raw_json_response(doc)

    async def rotate_share_token(request: Request) -> Response:
        """Replace the share link: the old ``share_token`` stops working at once."""
        owner = await caller_id(ctx, request)
        wishlist_id = path_id(request, "wishlist")
        async with ctx.db.transaction() as conn:
            await conn.execute(
                sa.text(
                    "UPDATE wishlists SET share_token = :token, updated_at = now() WHERE id = :id AND owner_id = :owner"
                ),
                {"token": new_share_token(), "id": wishlist_id, "owner": owner},
            )
            doc = await queries.wishlist_document(await driver(conn), wishlist_id, owner)
        if doc is None:
            raise not_found("wishlist")
        return raw_json_response(doc)

    return [
        Route("/api/wishlists", list_wishlists, methods=["GET"]),
        Route("/api/wishlists", create_wishlist, methods=["POST"]),
        Route("/api/wishlists/{id:id}", get_wishlist, methods=["GET"]),
        Route("/api/wishlists/{id:id}", update_wishlist, methods=["PUT", "PATCH"]),
        Route("/api/wishlists/{id:id}", delete_wishlist, methods=["DELETE"]),
        Route("/api/wishlists/{id:id}/items", list_items, methods=["GET"]),
        Route("/api/wishlists/{id:id}/share-token", rotate_share_token, methods=["POST"]),
    ]
