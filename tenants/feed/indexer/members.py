"""Membership changes (sign-ups by the API) reach the indexer by polling the ``members`` table.

A new member gets a profile row marked ``is_member``, their stored posts become local, and a
member backfill job fetches their history and follows. The tracker is updated in place, never
reloaded: the reader runs ahead of the database, and a reload would forget what it has read.
"""

from __future__ import annotations

import asyncpg

from tenants.feed.indexer.processors.base import MEMBER_COLLECTIONS
from tenants.feed.indexer.tracker import Tracker

CHANGED = """
SELECT m.did, true AS joined FROM members m LEFT JOIN profiles p ON p.did = m.did
WHERE p.is_member IS NOT TRUE
UNION ALL
SELECT p.did, false FROM profiles p WHERE p.is_member AND NOT EXISTS (SELECT 1 FROM members m WHERE m.did = p.did)
"""

JOINED = """
WITH stub AS (INSERT INTO profiles (did) SELECT unnest($1::text[]) ON CONFLICT (did) DO NOTHING)
INSERT INTO backfill_jobs (did, reason, collections) SELECT unnest($1::text[]), 'member', $2::text[]
ON CONFLICT (did) DO UPDATE SET reason = 'member', collections = EXCLUDED.collections, state = 'pending',
    collection_index = 0, page_cursor = NULL, attempts = 0, last_error = NULL, next_attempt_at = now(),
    generation = backfill_jobs.generation + 1
"""


async def sync_members(conn: asyncpg.Connection, tracker: Tracker) -> bool:
    """Apply membership changes to the database and the tracker; True when there were any."""
    rows = await conn.fetch(CHANGED)
    if not rows:
        return False
    joined = [row["did"] for row in rows if row["joined"]]
    changed = [row["did"] for row in rows]
    async with conn.transaction():
        if joined:
            await conn.execute(JOINED, joined, MEMBER_COLLECTIONS)
        await conn.execute(
            "UPDATE profiles SET is_member = (did = ANY($2::text[])), updated_at = now() WHERE did = ANY($1::text[])",
            changed,
            joined,
        )
        await conn.execute(
            "UPDATE posts SET is_local = (author_did = ANY($2::text[])) WHERE author_did = ANY($1::text[])",
            changed,
            joined,
        )
    for did in joined:
        tracker.join(did)
    for did in set(changed) - set(joined):
        if did in tracker.members:
            rows = await conn.fetch("SELECT subject_did FROM follows WHERE author_did = $1", did)
            tracker.leave(did, [row["subject_did"] for row in rows])
    return True
