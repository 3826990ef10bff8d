"""Reads that PostgreSQL answers as finished JSON documents (``json_build_object``/``json_agg``).

Each function is one round trip and returns the document as text, which the routes pass through
untouched (DESIGN §11). ``None`` means "no such row for this caller", which the routes turn into
404 — ownership is part of every ``WHERE``, so another user's id looks exactly like a missing one.

The statements run on the asyncpg driver (``$1`` placeholders): reads take it from
``ctx.db.raw()``, skipping SQLAlchemy's statement layer and the BEGIN/ROLLBACK it wraps around
every statement; writes that answer a document read it with :func:`driver` from their own
SQLAlchemy connection, inside their transaction.

Owner documents never mention reservations; only the shared view joins ``reservations``.
"""

from __future__ import annotations

import asyncpg

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

WISHLIST_DOCUMENT = f"""SELECT json_build_object({WISHLIST_FIELDS}, 'items', {ITEMS_OF_WISHLIST})::text
    FROM wishlists w WHERE w.id = $1 AND w.owner_id = $2"""

WISHLIST_PAGE = f"""SELECT w.id, json_build_object({WISHLIST_FIELDS})::text
    FROM wishlists w WHERE w.owner_id = $1 AND w.id < $2
    ORDER BY w.id DESC LIMIT $3"""

WISHLIST_ITEMS = f"""SELECT json_build_object('items', {ITEMS_OF_WISHLIST})::text
    FROM wishlists w WHERE w.id = $1 AND w.owner_id = $2"""

ITEM_DOCUMENT = f"""SELECT {ITEM}::text FROM items i JOIN wishlists w ON w.id = i.wishlist_id
    WHERE i.id = $1 AND w.owner_id = $2"""

TAG = "json_build_object('id', t.id, 'name', t.name, 'color', t.color, 'created_at', t.created_at)"

TAG_DOCUMENT = f"SELECT {TAG}::text FROM tags t WHERE t.id = $1 AND t.owner_id = $2"

TAG_LIST = f"""SELECT json_build_object('tags',
        COALESCE(json_agg({TAG} ORDER BY lower(t.name), t.id), '[]'::json))::text
    FROM tags t WHERE t.owner_id = $1"""

# Visitors see whether an item is taken and whether they took it, never by whom. The owner, should
# they open their own link while signed in, gets the items without any reservation field.
SHARED_ITEM = f"""CASE WHEN w.owner_id = $2 THEN json_build_object({ITEM_FIELDS})
    ELSE json_build_object({ITEM_FIELDS}, 'reserved', r.item_id IS NOT NULL,
        'reserved_by_me', COALESCE(r.user_id = $2, false)) END"""

SHARED_DOCUMENT = f"""SELECT w.visibility, json_build_object(
        'title', w.title, 'description', w.description, 'visibility', w.visibility,
        'owner', json_build_object('name', u.name),
        'viewer_is_owner', w.owner_id IS NOT DISTINCT FROM $2,
        'items', COALESCE((
            SELECT json_agg({SHARED_ITEM} ORDER BY {ITEM_ORDER})
            FROM items i LEFT JOIN reservations r ON r.item_id = i.id WHERE i.wishlist_id = w.id), '[]'::json)
    )::text
    FROM wishlists w JOIN users u ON u.id = w.owner_id
    WHERE w.share_token = $1 AND w.visibility <> 'private'"""

# A reserver's own list; lists turned private since drop out rather than leak their items.
MY_RESERVATIONS = """SELECT json_build_object('reservations', COALESCE(json_agg(json_build_object(
        'item', json_build_object('id', i.id, 'name', i.name, 'url', i.url, 'price', i.price::text,
            'currency', i.currency),
        'wishlist', json_build_object('title', w.title, 'owner', json_build_object('name', u.name),
            'share_token', w.share_token),
        'reserved_at', r.created_at) ORDER BY r.created_at DESC, i.id), '[]'::json))::text
    FROM reservations r JOIN items i ON i.id = r.item_id JOIN wishlists w ON w.id = i.wishlist_id
    JOIN users u ON u.id = w.owner_id
    WHERE r.user_id = $1 AND w.visibility <> 'private'"""


async def _text(db: asyncpg.Connection, sql: str, *args: object) -> str | None:
    """The first column of the first row as text, or None when there is no row."""
    value = await db.fetchval(sql, *args)
    return None if value is None else str(value)


async def wishlist_document(db: asyncpg.Connection, wishlist_id: int, owner: int) -> str | None:
    """The owner's wishlist with its items and their tags (the hot path)."""
    return await _text(db, WISHLIST_DOCUMENT, wishlist_id, owner)


async def wishlist_page(db: asyncpg.Connection, owner: int, before: int, limit: int) -> list[tuple[int, str]]:
    """Up to ``limit`` of the owner's wishlists with ids below ``before``, newest first: (id, JSON)."""
    rows = await db.fetch(WISHLIST_PAGE, owner, before, limit)
    return [(int(row[0]), str(row[1])) for row in rows]


async def wishlist_items(db: asyncpg.Connection, wishlist_id: int, owner: int) -> str | None:
    """``{"items": [...]}`` of the owner's wishlist."""
    return await _text(db, WISHLIST_ITEMS, wishlist_id, owner)


async def item_document(db: asyncpg.Connection, item_id: int, owner: int) -> str | None:
    """One of the owner's items with its tags."""
    return await _text(db, ITEM_DOCUMENT, item_id, owner)


async def tag_document(db: asyncpg.Connection, tag_id: int, owner: int) -> str | None:
    """One of the owner's tags."""
    return await _text(db, TAG_DOCUMENT, tag_id, owner)


async def tag_list(db: asyncpg.Connection, owner: int) -> str:
    """``{"tags": [...]}``, all of the owner's tags by name."""
    return str(await _text(db, TAG_LIST, owner))


async def shared_document(db: asyncpg.Connection, token: str, viewer: int | None) -> tuple[str, str] | None:
    """(visibility, JSON) of a shared or public wishlist as ``viewer`` (None: anonymous) sees it."""
    row = await db.fetchrow(SHARED_DOCUMENT, token, viewer)
    return (str(row[0]), str(row[1])) if row is not None else None


async def my_reservations(db: asyncpg.Connection, viewer: int) -> str:
    """``{"reservations": [...]}``: what ``viewer`` promised to give, newest first."""
    return str(await _text(db, MY_RESERVATIONS, viewer))
