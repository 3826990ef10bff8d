"""The signed-in user's tags (names unique per user, ignoring case)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.db.pool import driver
from shared.errors import ApiError, not_found
from shared.http.body import read_json
from shared.http.responses import raw_json_response
from shared.tenant import TenantContext
from tenants.wishlist import queries
from tenants.wishlist.schemas import TagCreate, TagUpdate
from tenants.wishlist.web import account_gone, caller_id, path_id, signed_out

# ``GET /tags`` answers them all at once, so keep "all" small.
MAX_TAGS_PER_USER = 100


def tag_exists() -> ApiError:
    """409 for a second tag with the same name."""
    return ApiError(409, "tag_exists", "You already have a tag with this name.")


def routes(ctx: TenantContext) -> list[Route]:
    """Routes under ``/api/tags``."""

    async def list_tags(request: Request) -> Response:
        """``{"tags": [...]}``: all own tags, by name."""
        owner = await caller_id(ctx, request)
        async with ctx.db.raw() as db:
            doc = await queries.tag_list(db, owner)
        return raw_json_response(doc)

    async def create_tag(request: Request) -> Response:
        """Create a tag: ``{"name", "color": "#rrggbb" | null}``."""
        owner = await caller_id(ctx, request)
        body = await read_json(request, TagCreate)
        try:
            async with ctx.db.transaction() as conn:
                # The owner's row lock makes concurrent creations count one after another.
                await conn.execute(sa.text("SELECT 1 FROM users WHERE id = :owner FOR UPDATE"), {"owner": owner})
                count = (
                    await conn.execute(sa.text("SELECT count(*) FROM tags WHERE owner_id = :owner"), {"owner": owner})
                ).scalar_one()
                if count >= MAX_TAGS_PER_USER:
                    raise ApiError(409, "too_many_tags", f"You can have at most {MAX_TAGS_PER_USER} tags.")
                tag_id = (
                    await conn.execute(
                        sa.text("INSERT INTO tags (owner_id, name, color) VALUES (:owner, :name, :color) RETURNING id"),
                        {"owner": owner, "name": body.name, "color": body.color},
                    )
                ).scalar_one()
                doc = await queries.tag_document(await driver(conn), tag_id, owner)
        except IntegrityError as exc:
            raise (signed_out() if account_gone(exc) else tag_exists()) from None
        return raw_json_response(str(doc), status=201)

    async def get_tag(request: Request) -> Response:
        """One own tag."""
        owner = await caller_id(ctx, request)
        tag_id = path_id(request, "tag")
        async with ctx.db.raw() as db:
            doc = await queries.tag_document(db, tag_id, owner)
        if doc is None:
            raise not_found("tag")
        return raw_json_response(doc)

    async def update_tag(request: Request) -> Response:
        """Rename or recolour an own tag (fields left out keep their value)."""
        owner = await caller_id(ctx, request)
        tag_id = path_id(request, "tag")
        changes = (await read_json(request, TagUpdate)).changes()
        try:
            async with ctx.db.transaction() as conn:
                if changes:
                    # Column names come from the model's fields (unknown keys were refused), never the caller.
                    sets = ", ".join(f"{name} = :{name}" for name in changes)
                    await conn.execute(
                        sa.text(f"UPDATE tags SET {sets} WHERE id = :id AND owner_id = :owner"),
                        {**changes, "id": tag_id, "owner": owner},
                    )
                doc = await queries.tag_document(await driver(conn), tag_id, owner)
        except IntegrityError:
            raise tag_exists() from None
        if doc is None:
            raise not_found("tag")
        return raw_json_response(doc)

    async def delete_tag(request: Request) -> Response:
        """Delete an own tag; items keep everything but that tag."""
        owner = await caller_id(ctx, request)
        tag_id = path_id(request, "tag")
        async with ctx.db.transaction() as conn:
            deleted = (
                await conn.execute(
                    sa.text("DELETE FROM tags WHERE id = :id AND owner_id = :owner RETURNING id"),
                    {"id": tag_id, "owner": owner},
                )
            ).scalar()
        if deleted is None:
            raise not_found("tag")
        return Response(status_code=204)

    return [
        Route("/api/tags", list_tags, methods=["GET"]),
        Route("/api/tags", create_tag, methods=["POST"]),
        Route("/api/tags/{id:id}", get_tag, methods=["GET"]),
        Route("/api/tags/{id:id}", update_tag, methods=["PUT", "PATCH"]),
        Route("/api/tags/{id:id}", delete_tag, methods=["DELETE"]),
    ]
