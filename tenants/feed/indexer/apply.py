"""Apply a list of ops inside the caller's transaction, exactly as if one at a time in order.

Ops go to each collection's processor in bulk. Order is preserved where it matters: an op
whose fate depends on a stored post is decided against the posts stored before it, and a
record changed twice in one batch is split across segments so each change lands in turn.
Counts are recomputed from rows, so the bulk order of different records never shows.
"""

from __future__ import annotations

from collections import defaultdict

import asyncpg

from shared.db.notify import INLINE_LIMIT, STORE_PAYLOAD, encode
from tenants.feed.indexer.events import ACCOUNT, COMMIT, IDENTITY, Op
from tenants.feed.indexer.processors import actor, graph, post, subject, tombstones
from tenants.feed.indexer.processors.base import FOLLOWEE_COLLECTIONS, Effects
from tenants.feed.indexer.records import BLOCK, FOLLOW, LIKE, POST, PROFILE, REPOST

QUEUE_FOLLOWEES = """
INSERT INTO backfill_jobs (did, reason, collections) SELECT unnest($1::text[]), 'follow', $2::text[]
ON CONFLICT (did) DO UPDATE SET
    reason = 'follow', collections = EXCLUDED.collections, state = 'pending', collection_index = 0,
    page_cursor = NULL, attempts = 0, last_error = NULL, next_attempt_at = now(), updated_at = now(),
    generation = backfill_jobs.generation + 1
WHERE backfill_jobs.reason <> 'member'
"""


async def resolve_checks(conn: asyncpg.Connection, ops: list[Op]) -> list[Op]:
    """Drop ops whose referenced posts are not stored at their position in the stream."""
    wanted = {uri for op in ops for uri in op.checks}
    if not wanted:
        return ops
    rows = await conn.fetch("SELECT uri FROM posts WHERE uri = ANY($1::text[])", list(wanted))
    stored = {row["uri"] for row in rows}
    kept: list[Op] = []
    for op in ops:
        if op.checks and not any(uri in stored for uri in op.checks):
            continue
        kept.append(op)
        if op.collection == POST and op.kind == COMMIT:
            if op.action == "delete":
                stored.discard(op.uri)
            else:
                stored.add(op.uri)
    return kept


def segments(ops: list[Op]) -> list[list[Op]]:
    """Split so that no record (or account, for identity/account events) appears twice in one."""
    result: list[list[Op]] = [[]]
    seen: set[str] = set()
    for op in ops:
        key = op.uri if op.kind == COMMIT else f"{op.kind}:{op.did}"
        if key in seen:
            result.append([])
            seen.clear()
        seen.add(key)
        result[-1].append(op)
    return result


async def apply_segment(conn: asyncpg.Connection, ops: list[Op], fx: Effects, community: frozenset[str]) -> None:
    """Run each processor on its share of the segment."""
    ops = await tombstones.drop_deleted(conn, ops)
    await tombstones.bury(conn, ops)
    groups: dict[tuple[str, bool], list[Op]] = defaultdict(list)
    for op in ops:
        name = op.collection if op.kind == COMMIT else op.kind
        groups[(name, op.action == "delete")].append(op)
    await post.insert(conn, groups[(POST, False)], fx, community)
    await post.delete(conn, groups[(POST, True)], fx)
    await subject.insert(conn, subject.LIKES, groups[(LIKE, False)], fx)
    await subject.delete(conn, subject.LIKES, groups[(LIKE, True)], fx)
    await subject.insert(conn, subject.REPOSTS, groups[(REPOST, False)], fx)
    await subject.delete(conn, subject.REPOSTS, groups[(REPOST, True)], fx)
    await graph.insert(conn, graph.FOLLOWS, groups[(FOLLOW, False)], fx)
    await graph.delete(conn, graph.FOLLOWS, groups[(FOLLOW, True)], fx)
    await graph.insert(conn, graph.BLOCKS, groups[(BLOCK, False)], fx)
    await graph.delete(conn, graph.BLOCKS, groups[(BLOCK, True)], fx)
    await actor.upsert_profiles(conn, groups[(PROFILE, False)], fx)
    await actor.identities(conn, groups[(IDENTITY, False)], fx)
    await actor.accounts(conn, groups[(ACCOUNT, False)], fx)


async def apply_ops(conn: asyncpg.Connection, ops: list[Op], fx: Effects, community: frozenset[str]) -> None:
    """Apply ``ops`` in order, then the aggregate step and the backfills they call for."""
    for segment in segments(await resolve_checks(conn, ops)):
        await apply_segment(conn, segment, fx, community)
    await actor.aggregate(conn, fx)
    if fx.followees:
        await conn.execute(QUEUE_FOLLOWEES, sorted(fx.followees), FOLLOWEE_COLLECTIONS)


async def publish(conn: asyncpg.Connection, channel: str, fx: Effects) -> None:
    """NOTIFY every event in this transaction (delivered on commit); big payloads go by reference."""
    payloads: list[str] = []
    for event, room, data in fx.events:
        payload = encode(event, room, data)
        if len(payload.encode()) > INLINE_LIMIT:
            ref = await conn.fetchval(STORE_PAYLOAD, payload)
            payload = encode(event, room, {"ref": ref})
        payloads.append(payload)
    if payloads:
        await conn.execute("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", channel, payloads)
