"""Full-text search (PostgreSQL ``simple`` configuration, ranked), paginated by a signed offset."""

from __future__ import annotations

import asyncpg

from tenants.feed.cursor import Cursors
from tenants.feed.views.pages import Page

POSTS = """
WITH q AS (SELECT websearch_to_tsquery('simple', $2) AS query),
hits AS (
    SELECT p.uri, ts_rank(to_tsvector('simple', p.text), q.query) AS rank, p.sort_at
    FROM posts p, q WHERE to_tsvector('simple', p.text) @@ q.query AND NOT feed_blocked($1, p.author_did)
    ORDER BY CASE WHEN $5 THEN 0 ELSE ts_rank(to_tsvector('simple', p.text), q.query) END DESC, p.sort_at DESC, p.uri
    OFFSET $3 LIMIT $4)
SELECT coalesce(jsonb_agg(feed_post(p, $1) ORDER BY CASE WHEN $5 THEN 0 ELSE h.rank END DESC, h.sort_at DESC, h.uri),
                '[]')::text AS items, count(*) AS n
FROM hits h JOIN posts p ON p.uri = h.uri
"""
# Each word is a prefix, so "ali" finds alice.example.com; an exact handle ranks first. Backslashes
# split words too: quote_literal would write E'...' for one, and the E became a search term.
# The same expression as the profiles_fts_idx index, so the index answers the match.
DOC = (
    "to_tsvector('simple', coalesce(p.handle, '') || ' ' || coalesce(p.display_name, '') || ' ' "
    "|| coalesce(p.description, ''))"
)
ACTORS = f"""
WITH q AS (SELECT to_tsquery('simple', string_agg(quote_literal(w) || ':*', ' & ')) AS query
           FROM regexp_split_to_table(lower($2), '[\\s\\\\]+') w WHERE w <> ''),
hits AS (
    SELECT p.did, (lower(p.handle) = lower($2)) AS exact, ts_rank({DOC}, q.query) AS rank
    FROM profiles p, q WHERE {DOC} @@ q.query AND NOT feed_blocked($1, p.did)
    ORDER BY exact DESC, rank DESC, p.did OFFSET $3 LIMIT $4)
SELECT coalesce(jsonb_agg(feed_profile(h.did, $1, 1) ORDER BY h.exact DESC, h.rank DESC, h.did), '[]')::text AS items,
       count(*) AS n
FROM hits h
"""


async def search(
    conn: asyncpg.Connection,
    cursors: Cursors,
    kind: str,
    q: str,
    viewer: str | None,
    limit: int,
    cursor: str | None,
    latest: bool = False,
) -> Page:
    """``posts`` (postViews) or ``actors`` (profileViews) matching ``q``."""
    offset = (cursors.decode(cursor, int) or [0])[0]
    if kind == "posts":
        row = await conn.fetchrow(POSTS, viewer, q, offset, limit, latest)
    else:
        row = await conn.fetchrow(ACTORS, viewer, q, offset, limit)
    assert row is not None
    return Page(row["items"], cursors.encode(offset + limit) if row["n"] == limit else None)
