"""Reads that PostgreSQL answers as finished JSON documents (``json_build_object``/``json_agg``).

Each function is one round trip and returns the document as text, which the routes pass through
untouched (DESIGN §11). ``None`` means "no such row for this caller", which the routes turn into
404 — ownership is part of every ``WHERE``, so another user's id looks exactly like a missing one.

Owner documents never mention reservations; only the shared view joins ``reservations``.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

ITEM_ORDER = "i.priority, i.id"

TAGS_OF_ITEM = """COALESCE((
    SELECT json_agg(json_build_object('id', t.id, 'name', t.name, 'color', t.color) ORDER BY lower(t.name), t.id)
    FROM item_tags it JOIN tags t ON t.id = it.tag_id WHERE it.item_id = i.id), '[]'::json)"""

# Price travels as a decimal string ("12.50") so no client rounds it through a float.
ITEM_FIELDS = f"""'id', i.id, 'name', i.name, 'url', i.url,
    'price', i.price::text, 'currency', i.currency, 'notes', i.notes, 'priority', i.priority,
    'tags', {TAGS_OF_ITEM}"""

ITEM = f"""json_build_object({ITEM_FIELDS}, 'wishlist_id', i.wishlist_id,
    'created_at', i.created_at, 'updated_at', i.updated_at)"""

WISHLIST_FIELDS = """'id', w.id, 'title', w.title, 'description', w.description, 'visibility', w.visibility,
    'share_token', w.share_token,
    'item_count', (SELECT count(*) FROM items c WHERE c.wishlist_id = w.id),
    'created_at', w.created_at, 'updated_at', w.updated_at"""

ITEMS_OF_WISHLIST = f"""COALESCE((
    SELECT json_agg({ITEM} ORDER BY {ITEM_ORDER}) FROM items i WHERE i.wishlist_id = w.id), '[]'::json)"""

WISHLIST_DOCUMENT = sa.text(
    f"""SELECT json_build_object({WISHLIST_FIELDS}, 'items', {ITEMS_OF_WISHLIST})::text
    FROM wishlists w WHERE w.id = :id AND w.owner_id = :owner"""
)

WISHLIST_PAGE = sa.text(
    f"""SELECT w.id, json_build_object({WISHLIST_FIELDS})::text
    FROM wishlists w WHERE w.owner_id = :owner AND w.id < :before
    ORDER BY w.id DESC LIMIT :limit"""
)

WISHLIST_ITEMS = sa.text(
    f"""SELECT json_build_object('items', {ITEMS_OF_WISHLIST})::text
    FROM wishlists w WHERE w.id = :id AND w.owner_id = :owner"""
)

ITEM_DOCUMENT = sa.text(
    f"""SELECT {ITEM}::text FROM items i JOIN wishlists w ON w.id = i.wishlist_id
    WHERE i.id = :id AND w.owner_id = :owner"""
)

TAG = "json_build_object('id', t.id, 'name', t.name, 'color', t.color, 'created_at', t.created_at)"

TAG_DOCUMENT = sa.text(f"SELECT {TAG}::text FROM tags t WHERE t.id = :id AND t.owner_id = :owner")

TAG_LIST = sa.text(
    f"""SELECT json_build_object('tags', COALESCE(json_agg({TAG} ORDER BY lower(t.name), t.id), '[]'::json))::text
    FROM tags t WHERE t.owner_id = :owner"""
)

# Visitors see whether an item is taken and whether they took it, never by whom. The owner, should
# they open their own link while signed in, gets the items without any reservation field.
SHARED_ITEM = f"""CASE WHEN w.owner_id = :viewer THEN json_build_object({ITEM_FIELDS})
    ELSE json_build_object({ITEM_FIELDS}, 'reserved', r.item_id IS NOT NULL,
        'reserved_by_me', COALESCE(r.user_id = :viewer, false)) END"""

SHARED_DOCUMENT = sa.text(
    f"""SELECT w.visibility, json_build_object(
        'title', w.title, 'description', w.description, 'visibility', w.visibility,
        'owner', json_build_object('name', u.name),
        'viewer_is_owner', w.owner_id IS NOT DISTINCT FROM :viewer,
        'items', COALESCE((
            SELECT json_agg({SHARED_ITEM} ORDER BY {ITEM_ORDER})
            FROM items i LEFT JOIN reservations r ON r.item_id = i.id WHERE i.wishlist_id = w.id), '[]'::json)
    )::text
    FROM wishlists w JOIN users u ON u.id = w.owner_id
    WHERE w.share_token = :token AND w.visibility <> 'private'"""
)

# A reserver's own list; lists turned private since drop out rather than leak their items.
MY_RESERVATIONS = sa.text(
    """SELECT json_build_object('reservations', COALESCE(json_agg(json_build_object(
        'item', json_build_object('id', i.id, 'name', i.name, 'url', i.url, 'price', i.price::text,
            'currency', i.currency),
        'wishlist', json_build_object('title', w.title, 'owner', json_build_object('name', u.name),
            'share_token', w.share_token),
        'reserved_at', r.created_at) ORDER BY r.created_at DESC, i.id), '[]'::json))::text
    FROM reservations r JOIN items i ON i.id = r.item_id JOIN wishlists w ON w.id = i.wishlist_id
    JOIN users u ON u.id = w.owner_id
    WHERE r.user_id = :viewer AND w.visibility <> 'private'"""
)


async def wishlist_document(conn: AsyncConnection, wishlist_id: int, owner: int) -> str | None:
    """The owner's wishlist with its items and their tags (the hot path)."""
    return (await conn.execute(WISHLIST_DOCUMENT, {"id": wishlist_id, "owner": owner})).scalar()


async def wishlist_page(conn: AsyncConnection, owner: int, before: int, limit: int) -> list[tuple[int, str]]:
    """Up to ``limit`` of the owner's wishlists with ids below ``before``, newest first: (id, JSON)."""
    rows = await conn.execute(WISHLIST_PAGE, {"owner": owner, "before": before, "limit": limit})
    return [(row[0], row[1]) for row in rows]


async def wishlist_items(conn: AsyncConnection, wishlist_id: int, owner: int) -> str | None:
    """``{"items": [...]}`` of the owner's wishlist."""
    return (await conn.execute(WISHLIST_ITEMS, {"id": wishlist_id, "owner": owner})).scalar()


async def item_document(conn: AsyncConnection, item_id: int, owner: int) -> str | None:
    """One of the owner's items with its tags."""
    return (await conn.execute(ITEM_DOCUMENT, {"id": item_id, "owner": owner})).scalar()


async def tag_document(conn: AsyncConnection, tag_id: int, owner: int) -> str | None:
    """One of the owner's tags."""
    return (await conn.execute(TAG_DOCUMENT, {"id": tag_id, "owner": owner})).scalar()


async def tag_list(conn: AsyncConnection, owner: int) -> str:
    """``{"tags": [...]}``, all of the owner's tags by name."""
    return str((await conn.execute(TAG_LIST, {"owner": owner})).scalar())


async def shared_document(conn: AsyncConnection, token: str, viewer: int | None) -> tuple[str, str] | None:
    """(visibility, JSON) of a shared or public wishlist as ``viewer`` (None: anonymous) sees it."""
    row = (await conn.execute(SHARED_DOCUMENT, {"token": token, "viewer": viewer})).first()
    return (row[0], row[1]) if row is not None else None


async def my_reservations(conn: AsyncConnection, viewer: int) -> str:
    """``{"reservations": [...]}``: what ``viewer`` promised to give, newest first."""
    return str((await conn.execute(MY_RESERVATIONS, {"viewer": viewer})).scalar())
