"""Posts: views by URI, threads (ancestors and replies assembled around the anchor), who liked/reposted."""

from __future__ import annotations

import itertools
from typing import Any

import asyncpg
import orjson

from tenants.feed.cursor import Cursors
from tenants.feed.views.actors import by_did
from tenants.feed.views.pages import KEY, NO_CURSOR, Page
from tenants.feed.views.present import active

# Posts by inactive accounts (taken down, deactivated...) are left out, as if not stored.
POSTS = f"""
SELECT coalesce(jsonb_agg(feed_post(p, $1) ORDER BY array_position($2::text[], p.uri)), '[]')::text
FROM posts p WHERE p.uri = ANY($2::text[]) AND NOT feed_blocked($1, p.author_did) AND {active("p.author_did")}
"""
ONE = f"""SELECT feed_post_ref($2, $1)::text AS view,
    EXISTS (SELECT 1 FROM posts p WHERE p.uri = $2 AND {active("p.author_did")}) AS stored"""
NOT_FOUND = "app.bsky.feed.defs#notFoundPost"

ANCESTORS = """
WITH RECURSIVE up (uri, parent, height) AS (
    SELECT p.uri, p.reply_parent_uri, 0 FROM posts p WHERE p.uri = $2
    UNION ALL
    SELECT up.parent, q.reply_parent_uri, up.height + 1 FROM up LEFT JOIN posts q ON q.uri = up.parent
    WHERE up.parent IS NOT NULL AND up.height < $3
)
SELECT height, v::text AS view, v ->> '$type' AS type FROM up, feed_post_ref(up.uri, $1) v ORDER BY height
"""
DESCENDANTS = f"""
WITH RECURSIVE down (uri, parent, depth, sort_at) AS (
    SELECT p.uri, p.reply_parent_uri, 1, p.sort_at FROM posts p WHERE p.reply_parent_uri = $2
    UNION ALL
    SELECT p.uri, p.reply_parent_uri, down.depth + 1, p.sort_at FROM down JOIN posts p ON p.reply_parent_uri = down.uri
    WHERE down.depth < $3
)
SELECT d.uri, d.parent, feed_post(p, $1)::text AS view FROM down d JOIN posts p ON p.uri = d.uri
WHERE NOT feed_blocked($1, p.author_did) AND {active("p.author_did")} ORDER BY d.depth, d.sort_at, d.uri LIMIT 1000
"""

# Accounts blocked either way, and inactive ones, are left out, as Bluesky's AppView does; the
# cursor is the skeleton's, so pages stay gap-free however many were left out.
ENGAGERS = {
    "likes": """
        WITH skeleton AS (SELECT l.created_at, l.uri, l.author_did FROM likes l
            WHERE l.subject_uri = $5 AND (l.created_at, l.uri) < {key} ORDER BY l.created_at DESC, l.uri DESC LIMIT $4)
        SELECT (SELECT coalesce(jsonb_agg(jsonb_build_object('indexedAt', feed_ts(s.created_at),
                    'createdAt', feed_ts(s.created_at), 'actor', feed_profile(s.author_did, $1, 1))
                    ORDER BY s.created_at DESC, s.uri DESC), '[]')::text
                FROM skeleton s WHERE NOT feed_blocked($1, s.author_did) AND {active}) AS items,
               (SELECT count(*) FROM skeleton) AS n,
               (SELECT array[created_at::text, uri] FROM skeleton ORDER BY created_at, uri LIMIT 1) AS last""",
    "reposts": """
        WITH skeleton AS (SELECT r.created_at, r.uri, r.author_did FROM reposts r
            WHERE r.subject_uri = $5 AND (r.created_at, r.uri) < {key} ORDER BY r.created_at DESC, r.uri DESC LIMIT $4)
        SELECT (SELECT coalesce(jsonb_agg(feed_profile(s.author_did, $1, 1) ORDER BY s.created_at DESC, s.uri DESC),
                    '[]')::text FROM skeleton s WHERE NOT feed_blocked($1, s.author_did) AND {active}) AS items,
               (SELECT count(*) FROM skeleton) AS n,
               (SELECT array[created_at::text, uri] FROM skeleton ORDER BY created_at, uri LIMIT 1) AS last""",
}


async def posts(conn: asyncpg.Connection, uris: list[str], viewer: str | None) -> str:
    """``postView``s of the stored, visible posts among ``uris``, in the order asked."""
    return str(await conn.fetchval(POSTS, viewer, uris))


async def post_ref(conn: asyncpg.Connection, uri: str, viewer: str | None) -> str | None:
    """A postView or blockedPost of ``uri``; None when it is not stored."""
    row = await conn.fetchrow(ONE, viewer, uri)
    return str(row["view"]) if row is not None and row["stored"] else None


def _node(view: str, kind: str) -> dict[str, Any]:
    if kind != "app.bsky.feed.defs#postView":
        return {"fragment": orjson.Fragment(view)}
    return {"$type": "app.bsky.feed.defs#threadViewPost", "post": orjson.Fragment(view)}


def _plain(node: dict[str, Any]) -> Any:
    return node.get("fragment", node)


async def thread(
    conn: asyncpg.Connection, uri: str, viewer: str | None, depth: int, parent_height: int
) -> bytes | None:
    """``{"thread": threadViewPost | blockedPost}`` of ``uri``; None when the post is not stored.

    An inactive author's post is not found, as Bluesky's AppView answers; ancestors by one are
    notFoundPost and replies by one are left out, with the replies under them.
    """
    chain = await conn.fetch(ANCESTORS, viewer, uri, parent_height)
    if not chain or chain[0]["type"] == NOT_FOUND:
        return None
    nodes = [_node(row["view"], row["type"]) for row in chain]
    anchor = nodes[0]
    if "fragment" in anchor:
        return orjson.dumps({"thread": anchor["fragment"]})
    for child, parent in itertools.pairwise(nodes):
        if "fragment" in child:
            break
        child["parent"] = _plain(parent)
    if depth > 0:
        by_uri: dict[str, dict[str, Any]] = {uri: anchor}
        for row in await conn.fetch(DESCENDANTS, viewer, uri, depth):
            parent_node = by_uri.get(row["parent"])
            if parent_node is None:
                continue
            node = _node(row["view"], "app.bsky.feed.defs#postView")
            parent_node.setdefault("replies", []).append(node)
            by_uri[row["uri"]] = node
        anchor.setdefault("replies", [])
    return orjson.dumps({"thread": anchor})


async def engagers(
    conn: asyncpg.Connection, cursors: Cursors, kind: str, uri: str, viewer: str | None, limit: int, cursor: str | None
) -> Page:
    """Who liked (``likes``: {indexedAt, createdAt, actor}) or reposted (profileViews) ``uri``, newest first.

    ``uri`` may name its repository by handle: one no stored account has, like a post never liked, has none.
    """
    key = cursors.decode(cursor, str, str) or NO_CURSOR
    subject = await by_did(conn, uri)
    if subject is None:
        return Page("[]", None)
    row = await conn.fetchrow(
        ENGAGERS[kind].format(key=KEY, active=active("s.author_did")), viewer, key[0], key[1], limit, subject
    )
    assert row is not None
    return Page(row["items"], cursors.encode(*row["last"]) if row["n"] == limit and row["last"] else None)
