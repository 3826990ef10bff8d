"""Keyset pages: a skeleton of ``(k_at, k_uri)`` keys, presented as ``feedViewPost`` items.

Cursors hold the last key of the skeleton (before rules drop blocked rows), so the next page
starts exactly after it: no item is skipped or repeated however the rows were filtered.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import asyncpg

from tenants.feed.cursor import Cursors
from tenants.feed.views.present import FEED_ITEM, FEED_JOINS, FEED_RULES

NO_CURSOR = ("infinity", "")
KEY = "(CAST($2::text AS timestamptz), $3::text)"

# Skeletons select (k_at, k_uri, post_uri, repost_uri, by_did) newest first; $4 is the subject.
SKELETONS = {
    "timeline": f"""
        SELECT t.sort_at AS k_at, t.item_uri AS k_uri, t.post_uri, t.repost_uri, t.by_did FROM timeline_items t
        WHERE t.member_did = $4 AND (t.sort_at, t.item_uri) < {KEY}
        ORDER BY t.sort_at DESC, t.item_uri DESC LIMIT {{limit}}""",
    "global": f"""
        SELECT p.sort_at, p.uri, p.uri, NULL::text, p.author_did FROM posts p
        WHERE p.is_community AND p.reply_parent_uri IS NULL AND (p.sort_at, p.uri) < {KEY}
        ORDER BY p.sort_at DESC, p.uri DESC LIMIT {{limit}}""",
    "local": f"""
        SELECT p.sort_at, p.uri, p.uri, NULL::text, p.author_did FROM posts p
        WHERE p.is_local AND p.reply_parent_uri IS NULL AND (p.sort_at, p.uri) < {KEY}
        ORDER BY p.sort_at DESC, p.uri DESC LIMIT {{limit}}""",
    "likes": f"""
        SELECT l.created_at, l.uri, l.subject_uri, NULL::text, l.author_did FROM likes l
        WHERE l.author_did = $4 AND (l.created_at, l.uri) < {KEY}
        ORDER BY l.created_at DESC, l.uri DESC LIMIT {{limit}}""",
    # One post, by its uri in $4: an author's pinned post, shown above their feed.
    "pinned": f"""
        SELECT p.sort_at, p.uri, p.uri, NULL::text, p.author_did FROM posts p
        WHERE p.uri = $4 AND (p.sort_at, p.uri) < {KEY} LIMIT {{limit}}""",
    "replies": f"""
        SELECT p.sort_at, p.uri, p.uri, NULL::text, p.author_did FROM posts p
        WHERE p.reply_parent_uri = $4 AND (p.sort_at, p.uri) < {KEY}
        ORDER BY p.sort_at DESC, p.uri DESC LIMIT {{limit}}""",
}


def _author(where: str) -> str:
    return f"""
        SELECT i.sort_at, i.uri, i.post_uri, CASE WHEN i.type = 'repost' THEN i.uri END, i.originator_did
        FROM feed_items i JOIN posts p ON p.uri = i.post_uri
        WHERE i.originator_did = $4 AND (i.sort_at, i.uri) < {KEY} AND ({where})
        ORDER BY i.sort_at DESC, i.uri DESC LIMIT {{limit}}"""


def _own(where: str) -> str:
    return f"""
        SELECT p.sort_at, p.uri, p.uri, NULL::text, p.author_did FROM posts p
        WHERE p.author_did = $4 AND (p.sort_at, p.uri) < {KEY} AND ({where})
        ORDER BY p.sort_at DESC, p.uri DESC LIMIT {{limit}}"""


MEDIA = "p.embed ->> '$type' IN ('app.bsky.embed.images', 'app.bsky.embed.video', 'app.bsky.embed.recordWithMedia')"
# app.bsky.feed.getAuthorFeed filters, plus the community API's replies-only view.
AUTHOR_FILTERS = {
    "posts_with_replies": _author("true"),
    "posts_no_replies": _author("i.type = 'repost' OR p.reply_parent_uri IS NULL"),
    "posts_and_author_threads": _author(
        "i.type = 'repost' OR p.reply_parent_uri IS NULL OR p.reply_root_uri LIKE 'at://' || $4 || '/%'"
    ),
    "posts_with_media": _own(MEDIA),
    "posts_with_video": _own("p.embed ->> '$type' = 'app.bsky.embed.video'"),
    "replies_only": _own("p.reply_parent_uri IS NOT NULL"),
}

PRESENT = f"""
WITH skeleton (k_at, k_uri, post_uri, repost_uri, by_did) AS ({{skeleton}})
SELECT (SELECT '[' || coalesce(string_agg({FEED_ITEM}, ',' ORDER BY s.k_at DESC, s.k_uri DESC), '') || ']'
        FROM skeleton s {FEED_JOINS} WHERE {FEED_RULES}) AS items,
       (SELECT count(*) FROM skeleton) AS n,
       (SELECT array[k_at::text, k_uri] FROM skeleton ORDER BY k_at, k_uri LIMIT 1) AS last
"""


@functools.lru_cache(maxsize=256)
def _statement(skeleton: str, limit: int) -> str:
    """The page statement for a skeleton and page size (built once; the items' SQL has literal braces)."""
    return PRESENT.replace("{skeleton}", skeleton.format(limit=limit))


@dataclass(frozen=True)
class Page:
    """A presented page: the JSON array text and the cursor of the next page (None at the end)."""

    items: str
    cursor: str | None

    def body(self, key: str, extra: bytes = b"") -> bytes:
        """``{"cursor": ..., <key>: [...]}`` without re-serialising the items."""
        head = b'{"cursor":"' + self.cursor.encode() + b'",' if self.cursor else b"{"
        return head + extra + b'"' + key.encode() + b'":' + self.items.encode() + b"}"


async def feed_page(
    conn: asyncpg.Connection,
    cursors: Cursors,
    skeleton: str,
    viewer: str | None,
    limit: int,
    cursor: str | None,
    subject: str | None = None,
) -> Page:
    """Run ``skeleton`` after the key in ``cursor`` and present it for ``viewer``."""
    key = cursors.decode(cursor, str, str) or NO_CURSOR
    args: list[Any] = [viewer, key[0], key[1]]
    if subject is not None:
        args.append(subject)
    row = await conn.fetchrow(_statement(skeleton, int(limit)), *args)
    assert row is not None
    following = cursors.encode(*row["last"]) if row["n"] == limit and row["last"] else None
    return Page(row["items"], following)
