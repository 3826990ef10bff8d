"""Full-text search (PostgreSQL ``simple`` configuration, ranked), paginated by a signed offset."""

from __future__ import annotations

import re

import asyncpg

from shared.errors import ApiError
from tenants.feed.cursor import Cursors
from tenants.feed.views.pages import Page

# How many matching posts are ranked: the newest ones. PostgreSQL finds them from the full-text
# index for a rare word and by walking posts newest first (posts_sort_idx) for a common one, so a
# search costs about the same however many posts match; ranking every match took seconds. The
# match is MATERIALIZED so that a "latest" search (a LIMIT of one page) makes the same choice.
CANDIDATES = 1000
# A search that still runs longer is cancelled (503), so it can't hold a connection and a core.
TIMEOUT = "3s"
POSTS = f"""
WITH matches AS MATERIALIZED (
    SELECT p.uri, p.text, p.sort_at, p.author_did FROM posts p
    WHERE to_tsvector('simple', p.text) @@ websearch_to_tsquery('simple', $2)
    ORDER BY p.sort_at DESC LIMIT {CANDIDATES}),
hits AS (
    SELECT m.uri, m.sort_at,
           CASE WHEN $5 THEN 0 ELSE ts_rank(to_tsvector('simple', m.text), websearch_to_tsquery('simple', $2)) END
           AS rank
    FROM matches m WHERE NOT feed_blocked($1, m.author_did)
    ORDER BY rank DESC, m.sort_at DESC, m.uri OFFSET $3 LIMIT $4)
SELECT coalesce(jsonb_agg(feed_post(p, $1) ORDER BY h.rank DESC, h.sort_at DESC, h.uri), '[]')::text AS items,
       count(*) AS n
FROM hits h JOIN posts p ON p.uri = h.uri
"""
# Each word is a prefix, so "ali" finds alice.example.com; an exact handle ranks first. Words
# split on backslashes too (see prefix_query). The same expression as the profiles_fts_idx index,
# so the index answers the match. Of many matches, the most followed are ranked.
DOC = (
    "to_tsvector('simple', coalesce(p.handle, '') || ' ' || coalesce(p.display_name, '') || ' ' "
    "|| coalesce(p.description, ''))"
)
ACTORS = f"""
WITH matches AS MATERIALIZED (
    (SELECT p.did FROM profiles p WHERE {DOC} @@ to_tsquery('simple', $2)
     ORDER BY p.followers_count DESC, p.did LIMIT {CANDIDATES})
    UNION
    SELECT p.did FROM profiles p WHERE lower(p.handle) = lower($5)),
hits AS (
    SELECT p.did, (lower(p.handle) = lower($5)) AS exact, ts_rank({DOC}, to_tsquery('simple', $2)) AS rank
    FROM matches m JOIN profiles p ON p.did = m.did WHERE NOT feed_blocked($1, p.did)
    ORDER BY exact DESC, rank DESC, p.did OFFSET $3 LIMIT $4)
SELECT coalesce(jsonb_agg(feed_profile(h.did, $1, 1) ORDER BY h.exact DESC, h.rank DESC, h.did), '[]')::text AS items,
       count(*) AS n
FROM hits h
"""


def prefix_query(q: str) -> str | None:
    """``q`` as a tsquery of prefixes, every word required; None without words.

    Built here rather than in SQL so that PostgreSQL plans with the words themselves. A backslash
    splits words: inside a quoted lexeme it would escape the next character.
    """
    words = [word for word in re.split(r"[\s\\]+", q.lower()) if word]
    if not words:
        return None
    return " & ".join("'" + word.replace("'", "''") + "':*" for word in words)


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
    try:
        async with conn.transaction():
            # Planned for these words: the plan cached for other words would pick the wrong index.
            await conn.execute(
                f"SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL statement_timeout = '{TIMEOUT}'"
            )
            if kind == "posts":
                row = await conn.fetchrow(POSTS, viewer, q, offset, limit, latest)
            else:
                row = await conn.fetchrow(ACTORS, viewer, prefix_query(q), offset, limit, q)
    except asyncpg.QueryCanceledError:
        raise ApiError(
            503, "search_timeout", "The search took too long. Try again, or add words to narrow it.",
            headers={"Retry-After": "5"},
        ) from None  # fmt: skip
    assert row is not None
    return Page(row["items"], cursors.encode(offset + limit) if row["n"] == limit else None)
