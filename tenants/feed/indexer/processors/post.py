"""``app.bsky.feed.post``: insert (with feed item and reply/mention/quote notifications), delete."""

from __future__ import annotations

from typing import Any

import asyncpg

from tenants.feed.indexer.events import Op
from tenants.feed.indexer.processors.base import Effects, fetched_at, forget_notifications, notify_members, rows_json
from tenants.feed.indexer.records import Post, did_of

# A stored post is replaced only by a newer copy: by repository revision when both have one (a
# replayed or reordered update is older; the same one is no change), else by when each was written
# or its page fetched (listRecords gives no revision; a page fetched before a live edit is older).
# A row keeps its rev when a copy without one replaces it: its content is at least that new.
INSERT = """
WITH input AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(
        uri text, cid text, author_did text, text text, created_at timestamptz, reply_parent_uri text,
        reply_root_uri text, quote_uri text, embed jsonb, facets jsonb, labels jsonb, langs text[],
        tags text[], is_community boolean, record jsonb, rev text, fetched_at timestamptz)
)
INSERT INTO posts (uri, cid, author_did, text, created_at, sort_at, reply_parent_uri, reply_root_uri,
                   quote_uri, embed, facets, labels, langs, tags, is_community, is_local, record, rev, record_at)
SELECT uri, cid, author_did, text, created_at, least(created_at, now()), reply_parent_uri, reply_root_uri,
       quote_uri, embed, facets, labels, langs, tags, is_community,
       EXISTS (SELECT 1 FROM members m WHERE m.did = i.author_did), record, rev, coalesce(fetched_at, now())
FROM input i
ON CONFLICT (uri) DO UPDATE SET
    cid = EXCLUDED.cid, text = EXCLUDED.text, embed = EXCLUDED.embed, facets = EXCLUDED.facets,
    labels = EXCLUDED.labels, langs = EXCLUDED.langs, tags = EXCLUDED.tags,
    is_community = EXCLUDED.is_community, record = EXCLUDED.record,
    rev = coalesce(EXCLUDED.rev, posts.rev), record_at = EXCLUDED.record_at
    WHERE posts.cid IS DISTINCT FROM EXCLUDED.cid
      AND CASE WHEN posts.rev IS NOT NULL AND EXCLUDED.rev IS NOT NULL THEN posts.rev < EXCLUDED.rev
               ELSE posts.record_at IS NULL OR posts.record_at <= EXCLUDED.record_at END
RETURNING uri, sort_at, (xmax = 0) AS inserted
"""

FEED_ITEMS = """
INSERT INTO feed_items (uri, type, post_uri, originator_did, sort_at)
SELECT uri, 'post', uri, author_did, sort_at FROM posts WHERE uri = ANY($1::text[])
ON CONFLICT (uri) DO NOTHING
"""

DELETE = """
WITH input AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(uri text, author_did text)),
gone AS (
    DELETE FROM posts p USING input i WHERE p.uri = i.uri
    RETURNING p.uri, p.author_did, p.reply_parent_uri, p.reply_root_uri, p.quote_uri
),
items AS (DELETE FROM feed_items f USING gone g WHERE f.uri = g.uri)
SELECT * FROM gone
"""


def _row(op: Op, post: Post, community: frozenset[str]) -> dict[str, Any]:
    return {
        "uri": op.uri,
        "cid": op.cid,
        "author_did": op.did,
        "text": post.text,
        "created_at": post.created_at,
        "reply_parent_uri": post.reply_parent,
        "reply_root_uri": post.reply_root,
        "quote_uri": post.quote,
        "embed": post.embed,
        "facets": post.facets,
        "labels": post.labels,
        "langs": post.langs,
        "tags": post.tags,
        "is_community": not community.isdisjoint(post.tags),
        "record": post.raw,
        "rev": op.rev,
        "fetched_at": fetched_at(op),
    }


def _notifications(op: Op, post: Post) -> list[dict[str, Any]]:
    base = {"actor_did": op.did, "record_uri": op.uri, "record_cid": op.cid, "created_at": post.created_at}
    rows: list[dict[str, Any]] = []
    told: set[str] = set()
    for kind, uri in (("reply", post.reply_parent), ("reply", post.reply_root), ("quote", post.quote)):
        if uri and did_of(uri) not in told:
            told.add(did_of(uri))
            rows.append({**base, "recipient_did": did_of(uri), "type": kind, "subject_uri": uri})
    for did in post.mentions:
        if did not in told:
            told.add(did)
            rows.append({**base, "recipient_did": did, "type": "mention", "subject_uri": None})
    return rows


async def insert(conn: asyncpg.Connection, ops: list[Op], fx: Effects, community: frozenset[str]) -> None:
    """Upsert posts; side effects only for rows really inserted (replays change nothing)."""
    posts = [(op, op.record) for op in ops if isinstance(op.record, Post)]
    if not posts:
        return
    fx.stubs.update(op.did for op, _ in posts)
    result = await conn.fetch(INSERT, rows_json([_row(op, post, community) for op, post in posts]))
    inserted = {row["uri"] for row in result if row["inserted"]}
    for row in result:
        if not row["inserted"]:
            fx.emit("post_updated", f"post:{row['uri']}", {"uri": row["uri"]})
    if not inserted:
        return
    await conn.execute(FEED_ITEMS, list(inserted))
    notes: list[dict[str, Any]] = []
    for op, post in posts:
        if op.uri not in inserted:
            continue
        fx.posts.update(u for u in (op.uri, post.reply_parent, post.quote) if u)
        fx.actors.add(op.did)
        fx.shown.add(op.did)
        notes.extend(_notifications(op, post))
        if post.reply_parent:
            data = {"uri": op.uri, "author": op.did, "parent": post.reply_parent, "root": post.reply_root}
            fx.emit("reply_added", f"post:{post.reply_root}", data)
    await notify_members(conn, notes, fx)


async def delete(conn: asyncpg.Connection, ops: list[Op], fx: Effects) -> None:
    """Delete posts and undo what they counted."""
    if not ops:
        return
    gone = await conn.fetch(DELETE, rows_json([{"uri": op.uri, "author_did": op.did} for op in ops]))
    for row in gone:
        fx.posts.update(u for u in (row["reply_parent_uri"], row["quote_uri"]) if u)
        fx.actors.add(row["author_did"])
        fx.emit("post_deleted", f"post:{row['uri']}", {"uri": row["uri"], "root": row["reply_root_uri"]})
    await forget_notifications(conn, [row["uri"] for row in gone], fx)
