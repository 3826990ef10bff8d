"""Accounts: ``app.bsky.actor.profile`` records, identity (handle) and account (status) events,
and the aggregate step that recounts posts and profiles touched by a batch.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from tenants.feed.indexer.events import Op
from tenants.feed.indexer.processors.base import PROFILE_COLLECTIONS, Effects, fetched_at, rows_json
from tenants.feed.indexer.records import Profile

PROFILE_COLUMNS = """
    display_name = x.display_name, description = x.description, avatar_cid = x.avatar_cid,
    banner_cid = x.banner_cid, record = x.record, updated_at = now(), record_at = coalesce(x.fetched_at, now()),
    rev = coalesce(x.rev, p.rev)
"""
# fetched_at: when a backfill page was fetched (NULL for live records).
PROFILE_INPUT = """jsonb_to_recordset($1::jsonb) AS x(did text, display_name text, description text,
    avatar_cid text, banner_cid text, record jsonb, tracked boolean, fetched_at timestamptz, rev text)"""

# Tracked accounts get a row; others (a Bloom-filter guess) only update a row that exists, so a
# false positive never creates anything.
UPSERT_PROFILES = f"""
WITH input AS (SELECT * FROM {PROFILE_INPUT}),
-- An older copy changes nothing: a live one older by revision (a replayed or reordered update;
-- the same revision again is no change), or a page fetched before the record last written live
-- (listRecords gives no revision). A row keeps its rev when a page replaces it.
updated AS (
    UPDATE profiles p SET {PROFILE_COLUMNS} FROM input x
    WHERE p.did = x.did
      AND CASE WHEN p.rev IS NOT NULL AND x.rev IS NOT NULL THEN p.rev < x.rev
               ELSE x.fetched_at IS NULL OR p.record_at IS NULL OR p.record_at < x.fetched_at END
    RETURNING p.did
),
created AS (
    INSERT INTO profiles (did, display_name, description, avatar_cid, banner_cid, record, record_at, rev)
    SELECT did, display_name, description, avatar_cid, banner_cid, record, coalesce(fetched_at, now()), rev
    FROM input x
    WHERE x.tracked AND NOT EXISTS (SELECT 1 FROM updated u WHERE u.did = x.did)
    ON CONFLICT (did) DO NOTHING RETURNING did
)
SELECT did FROM updated UNION ALL SELECT did FROM created
"""

# Recounts lock their rows first, in a statement of their own: under READ COMMITTED the count
# that follows then sees every write of a transaction that held the row before (the gateway's
# like, say). Counted in the locking statement's snapshot instead, a concurrent like was missed
# and the counter stayed one short until the post was touched again.
LOCK_POSTS = "SELECT 1 FROM posts WHERE uri = ANY($1::text[]) ORDER BY uri FOR NO KEY UPDATE"
LOCK_PROFILES = "SELECT 1 FROM profiles WHERE did = ANY($1::text[]) ORDER BY did FOR NO KEY UPDATE"

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

# Every account a stored record involves gets a profile row.
STUBS = "INSERT INTO profiles (did) SELECT unnest($1::text[]) ON CONFLICT (did) DO NOTHING"
# Those the UI shows by name (post authors, notification actors) get their profile record fetched.
PROFILE_JOBS = """
INSERT INTO backfill_jobs (did, reason, collections) SELECT unnest($1::text[]), 'profile', $2::text[]
ON CONFLICT (did) DO NOTHING
"""


async def upsert_profiles(conn: asyncpg.Connection, ops: list[Op], fx: Effects) -> None:
    """Store profile records (``app.bsky.actor.profile/self``)."""
    rows: list[dict[str, Any]] = []
    for op in ops:
        if isinstance(op.record, Profile) and op.rkey == "self":
            rec = op.record
            rows.append({"did": op.did, "display_name": rec.display_name, "description": rec.description,
                         "avatar_cid": rec.avatar_cid, "banner_cid": rec.banner_cid, "record": rec.raw,
                         "tracked": op.tracked or not op.live,
                         "fetched_at": fetched_at(op), "rev": op.rev})  # fmt: skip
    if rows:
        for row in await conn.fetch(UPSERT_PROFILES, rows_json(rows)):
            fx.emit("profile_updated", f"user:{row['did']}", {"did": row["did"]})


# An identity event's handle is only a claim (a relay may pass through what the DID document
# says, and anyone can write any handle there): a stored account's handle is verified again by
# a job (backfill.py resolves it both ways, and reads the PDS the document names) instead of
# being written as it comes. A finished job fetches the profile again; a pending or running one
# keeps its progress under a new generation, so its running task stops and a new one resolves
# the identity afresh before it goes on.
IDENTITIES = """
INSERT INTO backfill_jobs (did, reason, collections)
SELECT p.did, 'profile', $2::text[] FROM profiles p WHERE p.did = ANY($1::text[])
ON CONFLICT (did) DO UPDATE SET
    collections = CASE WHEN backfill_jobs.state IN ('done', 'failed') THEN EXCLUDED.collections
                       ELSE backfill_jobs.collections END,
    collection_index = CASE WHEN backfill_jobs.state IN ('done', 'failed') THEN 0
                            ELSE backfill_jobs.collection_index END,
    page_cursor = CASE WHEN backfill_jobs.state IN ('done', 'failed') THEN NULL ELSE backfill_jobs.page_cursor END,
    state = 'pending', attempts = 0, last_error = NULL, next_attempt_at = now(), updated_at = now(),
    generation = backfill_jobs.generation + 1
"""

# The statuses that take an account's content out of every view (as Bluesky's AppView does; it
# ignores the others, throttled and desynchronized, whose repositories are still hosted).
INACTIVE = frozenset({"takendown", "suspended", "deactivated", "deleted"})
ACCOUNTS = """
UPDATE profiles p SET account_status = x.status, updated_at = now()
FROM unnest($1::text[], $2::text[]) AS x(did, status)
WHERE p.did = x.did AND p.account_status IS DISTINCT FROM x.status
RETURNING p.did, p.account_status
"""


async def identities(conn: asyncpg.Connection, ops: list[Op], fx: Effects) -> None:
    """Identity events of stored accounts: their handle is verified again (a profile job)."""
    if ops:
        await conn.execute(IDENTITIES, sorted({op.did for op in ops}), PROFILE_COLLECTIONS)


async def accounts(conn: asyncpg.Connection, ops: list[Op], fx: Effects) -> None:
    """Account status changes (takedown, suspension, deactivation, deletion; None when active again).

    Nothing is deleted: the views hide an inactive account's records, so reactivation restores them.
    """
    ops = [op for op in ops if op.value is None or op.value in INACTIVE]
    if ops:
        for row in await conn.fetch(ACCOUNTS, [op.did for op in ops], [op.value for op in ops]):
            fx.emit("profile_updated", f"user:{row['did']}", {"did": row["did"], "status": row["account_status"]})


async def aggregate(conn: asyncpg.Connection, fx: Effects) -> None:
    """Profile rows for new accounts, then recount what the batch touched (counts are of rows)."""
    if fx.stubs:
        await conn.execute(STUBS, sorted(fx.stubs))
    if fx.shown:
        await conn.execute(PROFILE_JOBS, sorted(fx.shown), PROFILE_COLLECTIONS)
    if fx.posts:
        await conn.execute(LOCK_POSTS, sorted(fx.posts))
        for row in await conn.fetch(RECOUNT_POSTS, sorted(fx.posts)):
            counts = {k: row[k] for k in ("like_count", "repost_count", "reply_count", "quote_count")}
            fx.emit("post_updated", f"post:{row['uri']}", {"uri": row["uri"], **counts})
    if fx.actors:
        await conn.execute(LOCK_PROFILES, sorted(fx.actors))
        await conn.execute(RECOUNT_PROFILES, sorted(fx.actors))
