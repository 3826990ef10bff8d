"""Accounts: ``app.bsky.actor.profile`` records, identity (handle) and account (status) events,
and the aggregate step that recounts posts and profiles touched by a batch.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from tenants.feed.indexer.events import Op
from tenants.feed.indexer.processors.base import PROFILE_COLLECTIONS, Effects, rows_json
from tenants.feed.indexer.records import Profile

PROFILE_COLUMNS = """
    display_name = x.display_name, description = x.description, avatar_cid = x.avatar_cid,
    banner_cid = x.banner_cid, record = x.record, updated_at = now()
"""
PROFILE_INPUT = """jsonb_to_recordset($1::jsonb) AS x(did text, display_name text, description text,
    avatar_cid text, banner_cid text, record jsonb, tracked boolean)"""

# Tracked accounts get a row; others (a Bloom-filter guess) only update a row that exists, so a
# false positive never creates anything.
UPSERT_PROFILES = f"""
WITH input AS (SELECT * FROM {PROFILE_INPUT}),
updated AS (
    UPDATE profiles p SET {PROFILE_COLUMNS} FROM input x WHERE p.did = x.did RETURNING p.did
),
created AS (
    INSERT INTO profiles (did, display_name, description, avatar_cid, banner_cid, record)
    SELECT did, display_name, description, avatar_cid, banner_cid, record FROM input x
    WHERE x.tracked AND NOT EXISTS (SELECT 1 FROM updated u WHERE u.did = x.did)
    ON CONFLICT (did) DO NOTHING RETURNING did
)
SELECT did FROM updated UNION ALL SELECT did FROM created
"""

RECOUNT_POSTS = """
UPDATE posts p SET like_count = c.likes, repost_count = c.reposts, reply_count = c.replies,
                   quote_count = c.quotes
FROM (
    SELECT u.uri,
           (SELECT count(*) FROM likes l WHERE l.subject_uri = u.uri) AS likes,
           (SELECT count(*) FROM reposts r WHERE r.subject_uri = u.uri) AS reposts,
           (SELECT count(*) FROM posts r WHERE r.reply_parent_uri = u.uri) AS replies,
           (SELECT count(*) FROM posts q WHERE q.quote_uri = u.uri) AS quotes
    FROM unnest($1::text[]) AS u(uri)
) c
WHERE p.uri = c.uri
  AND (p.like_count, p.repost_count, p.reply_count, p.quote_count)
      IS DISTINCT FROM (c.likes::int, c.reposts::int, c.replies::int, c.quotes::int)
RETURNING p.uri, p.like_count, p.repost_count, p.reply_count, p.quote_count
"""

RECOUNT_PROFILES = """
UPDATE profiles p SET followers_count = c.followers, follows_count = c.follows, posts_count = c.posts
FROM (
    SELECT u.did,
           (SELECT count(*) FROM follows f WHERE f.subject_did = u.did) AS followers,
           (SELECT count(*) FROM follows f WHERE f.author_did = u.did) AS follows,
           (SELECT count(*) FROM posts s WHERE s.author_did = u.did) AS posts
    FROM unnest($1::text[]) AS u(did)
) c
WHERE p.did = c.did
  AND (p.followers_count, p.follows_count, p.posts_count)
      IS DISTINCT FROM (c.followers::int, c.follows::int, c.posts::int)
"""

# Each new account gets a profile row now and its profile record fetched by a small backfill job.
STUBS = """
WITH created AS (
    INSERT INTO profiles (did) SELECT unnest($1::text[]) ON CONFLICT (did) DO NOTHING RETURNING did
)
INSERT INTO backfill_jobs (did, reason, collections)
SELECT did, 'profile', $2::text[] FROM created ON CONFLICT (did) DO NOTHING
"""


async def upsert_profiles(conn: asyncpg.Connection, ops: list[Op], fx: Effects) -> None:
    """Store profile records (``app.bsky.actor.profile/self``)."""
    rows: list[dict[str, Any]] = []
    for op in ops:
        if isinstance(op.record, Profile) and op.rkey == "self":
            rec = op.record
            rows.append({"did": op.did, "display_name": rec.display_name, "description": rec.description,
                         "avatar_cid": rec.avatar_cid, "banner_cid": rec.banner_cid, "record": rec.raw,
                         "tracked": op.tracked or not op.live})  # fmt: skip
    if rows:
        for row in await conn.fetch(UPSERT_PROFILES, rows_json(rows)):
            fx.emit("profile_updated", f"user:{row['did']}", {"did": row["did"]})


async def identities(conn: asyncpg.Connection, ops: list[Op], fx: Effects) -> None:
    """Handle changes (identity events) for stored accounts."""
    for op in ops:
        if op.value is None:
            continue
        changed = await conn.fetchval(
            "WITH m AS (UPDATE members SET handle = $2 WHERE did = $1) "
            "UPDATE profiles SET handle = $2, updated_at = now() WHERE did = $1 AND handle IS DISTINCT FROM $2 "
            "RETURNING did",
            op.did,
            op.value,
        )
        if changed:
            fx.emit("profile_updated", f"user:{op.did}", {"did": op.did, "handle": op.value})


async def accounts(conn: asyncpg.Connection, ops: list[Op], fx: Effects) -> None:
    """Account status changes (takedown, deactivation, deletion; None when active again)."""
    for op in ops:
        changed = await conn.fetchval(
            "UPDATE profiles SET account_status = $2, updated_at = now() "
            "WHERE did = $1 AND account_status IS DISTINCT FROM $2 RETURNING did",
            op.did,
            op.value,
        )
        if changed:
            fx.emit("profile_updated", f"user:{op.did}", {"did": op.did, "status": op.value})


async def aggregate(conn: asyncpg.Connection, fx: Effects) -> None:
    """Profile rows for new accounts, then recount what the batch touched (counts are of rows)."""
    if fx.stubs:
        await conn.execute(STUBS, sorted(fx.stubs), PROFILE_COLLECTIONS)
    if fx.posts:
        for row in await conn.fetch(RECOUNT_POSTS, sorted(fx.posts)):
            counts = {k: row[k] for k in ("like_count", "repost_count", "reply_count", "quote_count")}
            fx.emit("post_updated", f"post:{row['uri']}", {"uri": row["uri"], **counts})
    if fx.actors:
        await conn.execute(RECOUNT_PROFILES, sorted(fx.actors))
