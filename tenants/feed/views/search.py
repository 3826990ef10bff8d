"""Full-text search (PostgreSQL ``simple`` configuration, ranked), paginated by a signed offset."""

from __future__ import annotations

import re
from typing import Any

import asyncpg

from shared.errors import ApiError
from tenants.feed.cursor import Cursors
from tenants.feed.params import invalid
from tenants.feed.search_filters import PostFilters
from tenants.feed.views.pages import Page
from tenants.feed.views.present import active

# How many matching posts are ranked: the newest ones. PostgreSQL finds them from the full-text
# index for a rare word and by walking posts newest first (posts_sort_idx) for a common one, so a
# search costs about the same however many posts match; ranking every match took seconds. The
# match is MATERIALIZED so that a "latest" search (a LIMIT of one page) makes the same choice.
CANDIDATES = 1000
# A search that still runs longer is cancelled (503), so it can't hold a connection and a core.
TIMEOUT = "3s"
# $2 the words (websearch syntax) or NULL; $6.. the filters (tenants/feed/search_filters.py), NULL
# (or no tags) for none. With a plan made for the values at hand, the unused ones fold away.
LINKS = """SELECT jsonb_path_query(p.facets, '$[*].features[*] ? (@."$type" == "app.bsky.richtext.facet#link").uri')
                  #>> '{}'
           UNION ALL SELECT p.embed #>> '{external,uri}' UNION ALL SELECT p.embed #>> '{media,external,uri}'"""
# Each filter is written so that an index of migration 0009 serves it (the link index's own
# condition is repeated so PostgreSQL can prove it holds): a rare filter reads only its posts.
POSTS = f"""
WITH matches AS MATERIALIZED (
    SELECT p.uri, p.text, p.sort_at, p.author_did FROM posts p
    WHERE ($2::text IS NULL OR to_tsvector('simple', p.text) @@ websearch_to_tsquery('simple', $2))
      AND ($6::text IS NULL OR p.author_did = $6)
      AND ($7::text IS NULL OR p.facets @> jsonb_build_array(jsonb_build_object(
               'features', jsonb_build_array(jsonb_build_object('did', $7::text)))))
      AND ($8::text IS NULL OR feed_lang_bases(p.langs) @> ARRAY[split_part($8, '-', 1)] AND EXISTS (
               SELECT 1 FROM unnest(p.langs) l WHERE lower(l) = $8 OR lower(l) LIKE $8 || '-%'))
      AND ($9::timestamptz IS NULL OR p.sort_at >= $9) AND ($10::timestamptz IS NULL OR p.sort_at < $10)
      AND (cardinality($11::text[]) = 0 OR p.tags @> $11)
      AND ($12::text IS NULL OR (p.facets IS NOT NULL OR p.embed IS NOT NULL)
           AND feed_link_hosts(p.facets, p.embed) @> ARRAY[$12::text])
      AND ($13::text IS NULL OR (p.facets IS NOT NULL OR p.embed IS NOT NULL)
           AND feed_link_hosts(p.facets, p.embed) @> ARRAY[feed_link_host($13)]
           AND EXISTS (SELECT 1 FROM ({LINKS}) AS links (u) WHERE links.u = $13))
    ORDER BY p.sort_at DESC LIMIT {CANDIDATES}),
hits AS (
    SELECT m.uri, m.sort_at,
           CASE WHEN $5 OR $2 IS NULL THEN 0
                ELSE ts_rank(to_tsvector('simple', m.text), websearch_to_tsquery('simple', $2)) END AS rank
    FROM matches m WHERE NOT feed_blocked($1, m.author_did) AND {active("m.author_did")}
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
    FROM matches m JOIN profiles p ON p.did = m.did WHERE NOT feed_blocked($1, p.did) AND p.account_status IS NULL
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


async def _run(conn: asyncpg.Connection, statement: str, *args: Any) -> asyncpg.Record:
    """One search statement, planned for its values and cancelled after ``TIMEOUT`` (503)."""
    try:
        async with conn.transaction():
            # Planned for these words: the plan cached for other words would pick the wrong index.
            await conn.execute(
                f"SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL statement_timeout = '{TIMEOUT}'"
            )
            row = await conn.fetchrow(statement, *args)
    except asyncpg.QueryCanceledError:
        raise ApiError(
            503, "search_timeout", "The search took too long. Try again, or add words to narrow it.",
            headers={"Retry-After": "5"},
        ) from None  # fmt: skip
    assert row is not None
    return row


async def _account(conn: asyncpg.Connection, name: str, value: str | None, viewer: str | None) -> str | None:
    """The DID a filter names (a DID, a known handle, or "me"); '' for an unknown handle."""
    if value is None or value.startswith("did:"):
        return value
    if value == "me":
        if viewer is None:
            raise invalid(name, '"me" needs a signed-in viewer')
        return viewer
    did: str | None = await conn.fetchval("SELECT did FROM profiles WHERE lower(handle) = lower($1)", value)
    return did or ""


async def search_posts(
    conn: asyncpg.Connection,
    cursors: Cursors,
    words: str | None,
    filters: PostFilters,
    viewer: str | None,
    limit: int,
    cursor: str | None,
    latest: bool = False,
) -> Page:
    """postViews matching ``words`` (None: any) and ``filters``: the best first, or the newest with ``latest``."""
    offset = (cursors.decode(cursor, int) or [0])[0]
    author = await _account(conn, "author", filters.author, viewer)
    mentions = await _account(conn, "mentions", filters.mentions, viewer)
    if "" in (author, mentions):
        return Page("[]", None)
    row = await _run(
        conn, POSTS, viewer, words, offset, limit, latest, author, mentions, filters.lang, filters.since,
        filters.until, list(filters.tags), filters.domain, filters.url,
    )  # fmt: skip
    return Page(row["items"], cursors.encode(offset + limit) if row["n"] == limit else None)


async def search_actors(
    conn: asyncpg.Connection, cursors: Cursors, q: str, viewer: str | None, limit: int, cursor: str | None
) -> Page:
    """profileViews whose handle, name or description has words starting with those of ``q``."""
    offset = (cursors.decode(cursor, int) or [0])[0]
    # A handle is typed as Bluesky shows it, "@alice.example.com", and still matches exactly.
    handle = q.strip().removeprefix("@")
    row = await _run(conn, ACTORS, viewer, prefix_query(q), offset, limit, handle)
    return Page(row["items"], cursors.encode(offset + limit) if row["n"] == limit else None)
