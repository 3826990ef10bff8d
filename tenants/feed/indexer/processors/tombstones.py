"""Deleted records, remembered for a while so that an older copy arriving later can't revive one.

Two older copies can come after a delete: a backfill page fetched before it (``listRecords``
says nothing of revisions, so any delete wins over a page), and the Jetstream echo of a record a
member created and deleted through onebox, both applied at once (the echo of the create comes
after the local delete). A live copy is compared by repository revision: a create older than
the delete is dropped, a newer one (the same key written again) is kept and lifts the tombstone.
Without that an undone like came back for a moment, and notified and pushed again.
"""

from __future__ import annotations

import asyncpg

from tenants.feed.indexer.events import COMMIT, Op
from tenants.feed.indexer.records import BLOCK, FOLLOW, LIKE, POST, REPOST

COLLECTIONS = (POST, LIKE, REPOST, FOLLOW, BLOCK)

# Only what a copy could bring back: a record that is stored, or one of an account being
# backfilled. (Whether the reader kept a delete is a guess; what is stored is the same on replay.)
BURY = """
INSERT INTO tombstones (uri, rev)
SELECT x.uri, x.rev FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS x(uri, rev, did, collection)
WHERE EXISTS (SELECT 1 FROM backfill_jobs j WHERE j.did = x.did)
   OR EXISTS (SELECT 1 FROM record_duplicates d WHERE d.uri = x.uri)
   OR CASE x.collection
          WHEN 'app.bsky.feed.post' THEN EXISTS (SELECT 1 FROM posts t WHERE t.uri = x.uri)
          WHEN 'app.bsky.feed.like' THEN EXISTS (SELECT 1 FROM likes t WHERE t.uri = x.uri)
          WHEN 'app.bsky.feed.repost' THEN EXISTS (SELECT 1 FROM reposts t WHERE t.uri = x.uri)
          WHEN 'app.bsky.graph.follow' THEN EXISTS (SELECT 1 FROM follows t WHERE t.uri = x.uri)
          WHEN 'app.bsky.graph.block' THEN EXISTS (SELECT 1 FROM blocks t WHERE t.uri = x.uri)
      END
ON CONFLICT (uri) DO UPDATE SET rev = greatest(tombstones.rev, EXCLUDED.rev), deleted_at = now()
"""
FIND = "SELECT uri, rev FROM tombstones WHERE uri = ANY($1::text[])"
LIFT = "DELETE FROM tombstones WHERE uri = ANY($1::text[])"
PURGE = "DELETE FROM tombstones WHERE deleted_at < now() - make_interval(hours => $1)"


def _record_ops(ops: list[Op], deletes: bool) -> list[Op]:
    return [
        op for op in ops if op.kind == COMMIT and op.collection in COLLECTIONS and (op.action == "delete") == deletes
    ]


async def drop_deleted(conn: asyncpg.Connection, ops: list[Op]) -> list[Op]:
    """``ops`` without the creates of records deleted after them."""
    creates = _record_ops(ops, deletes=False)
    if not creates:
        return ops
    buried = {row["uri"]: row["rev"] for row in await conn.fetch(FIND, [op.uri for op in creates])}
    if not buried:
        return ops
    dropped: set[int] = set()
    lifted: list[str] = []
    for op in creates:
        if op.uri not in buried:
            continue
        deleted_rev = buried[op.uri]
        if op.live and (deleted_rev is None or op.rev is None or op.rev > deleted_rev):
            lifted.append(op.uri)  # written again after the delete, or nothing says it is older
        else:
            dropped.add(id(op))
    if lifted:
        await conn.execute(LIFT, lifted)
    return [op for op in ops if id(op) not in dropped]


async def bury(conn: asyncpg.Connection, ops: list[Op]) -> None:
    """Remember the records ``ops`` delete, with the revision that deleted them."""
    deletes = _record_ops(ops, deletes=True)
    if deletes:
        await conn.execute(
            BURY, [op.uri for op in deletes], [op.rev for op in deletes], [op.did for op in deletes],
            [op.collection for op in deletes],
        )  # fmt: skip


async def purge(conn: asyncpg.Connection, keep_hours: float) -> None:
    """Forget tombstones older than any copy that could still arrive (Jetstream's replay window)."""
    await conn.execute(PURGE, keep_hours)
