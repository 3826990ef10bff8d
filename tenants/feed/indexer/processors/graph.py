"""``app.bsky.graph.follow`` and ``app.bsky.graph.block``: a record pointing at an account.

A member's follow that made its subject tracked queues the subject's backfill. Viewer state is
kept from both sides: the member's own follow/block and the one aimed at the member. An account
has at most one row per subject in each table; a further record of the pair waits aside and takes
the row's place, with the effects of an insert, when the row is deleted (duplicates.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from tenants.feed.indexer.events import Op
from tenants.feed.indexer.processors.base import (
    Effects,
    forget_notifications,
    last_per_pair,
    notify_members,
    rows_json,
)
from tenants.feed.indexer.processors.duplicates import FORGET, Pairs
from tenants.feed.indexer.records import Graph


@dataclass(frozen=True)
class Kind:
    """A graph collection: its table, the viewer columns for each side, notification type."""

    table: str
    own_column: str
    aimed_column: str
    notification: str | None

    @property
    def pairs(self) -> Pairs:
        return Pairs(self.table, "subject_did")


FOLLOWS = Kind("follows", "follow_uri", "followed_by_uri", "follow")
BLOCKS = Kind("blocks", "blocking_uri", "blocked_by_uri", None)


def _viewer_set_sql(column: str) -> str:
    return f"""
    INSERT INTO viewer_actor_state (viewer_did, subject_did, {column})
    SELECT v.viewer, v.subject, v.uri
    FROM unnest($1::text[], $2::text[], $3::text[]) AS v(viewer, subject, uri)
    JOIN members m ON m.did = v.viewer
    ON CONFLICT (viewer_did, subject_did) DO UPDATE SET {column} = EXCLUDED.{column}
    """


def _viewer_clear_sql(column: str) -> str:
    return f"""
    UPDATE viewer_actor_state s SET {column} = NULL
    FROM unnest($1::text[], $2::text[], $3::text[]) AS v(viewer, subject, uri)
    WHERE s.viewer_did = v.viewer AND s.subject_did = v.subject AND s.{column} = v.uri
    """


# Emptied rows are removed so the table holds the same rows however events were batched.
# (A separate statement: one statement can't delete the rows its own CTE updated.)
VIEWER_PRUNE = """
DELETE FROM viewer_actor_state s USING unnest($1::text[], $2::text[]) AS v(a, b)
WHERE ((s.viewer_did = v.a AND s.subject_did = v.b) OR (s.viewer_did = v.b AND s.subject_did = v.a))
  AND s.follow_uri IS NULL AND s.followed_by_uri IS NULL AND s.blocking_uri IS NULL AND s.blocked_by_uri IS NULL
"""


async def _viewer(conn: asyncpg.Connection, kind: Kind, rows: list[Any], clear: bool) -> None:
    authors = [r["author_did"] for r in rows]
    subjects = [r["subject_did"] for r in rows]
    uris = [r["uri"] for r in rows]
    if clear:
        await conn.execute(_viewer_clear_sql(kind.own_column), authors, subjects, uris)
        await conn.execute(_viewer_clear_sql(kind.aimed_column), subjects, authors, uris)
    else:
        await conn.execute(_viewer_set_sql(kind.own_column), *last_per_pair(authors, subjects, uris))
        await conn.execute(_viewer_set_sql(kind.aimed_column), *last_per_pair(subjects, authors, uris))
    if clear:
        await conn.execute(VIEWER_PRUNE, authors, subjects)


async def insert(conn: asyncpg.Connection, kind: Kind, ops: list[Op], fx: Effects) -> None:
    """Insert follows or blocks; effects only for rows really inserted."""
    rows: list[dict[str, Any]] = []
    for op in ops:
        if isinstance(op.record, Graph):
            rows.append({"uri": op.uri, "cid": op.cid, "author_did": op.did, "subject_did": op.record.did,
                         "created_at": op.record.created_at})  # fmt: skip
            fx.stubs.update((op.did, op.record.did))
            if op.newly_tracked:
                fx.followees.add(op.record.did)
    if not rows:
        return
    inserted = await conn.fetch(
        f"""
        INSERT INTO {kind.table} (uri, cid, author_did, subject_did, created_at)
        SELECT uri, cid, author_did, subject_did, created_at
        FROM jsonb_to_recordset($1::jsonb) AS x(uri text, cid text, author_did text, subject_did text,
                                                created_at timestamptz)
        ON CONFLICT DO NOTHING
        RETURNING uri, author_did, subject_did, created_at
        """,
        rows_json(rows),
    )
    if len(inserted) < len(rows):
        await conn.execute(kind.pairs.set_aside(), rows_json(rows))
    await _took_effect(conn, kind, inserted, fx)


def _blocks_changed(rows: list[Any], fx: Effects) -> None:
    # For live connections of these accounts, whose idea of whom they must not hear is now old.
    dids = sorted({did for row in rows for did in (row["author_did"], row["subject_did"])})
    fx.emit("blocks_changed", None, {"dids": dids})


async def _took_effect(conn: asyncpg.Connection, kind: Kind, inserted: list[Any], fx: Effects) -> None:
    """Viewer state from both sides, recounts, events and notifications of rows that became the pair's row."""
    if not inserted:
        return
    await _viewer(conn, kind, inserted, clear=False)
    if kind.notification is None:
        _blocks_changed(inserted, fx)
        return
    for row in inserted:
        fx.actors.update((row["author_did"], row["subject_did"]))
        fx.emit("profile_updated", f"user:{row['subject_did']}", {"did": row["subject_did"]})
    notes = [
        {"recipient_did": r["subject_did"], "type": kind.notification, "actor_did": r["author_did"],
         "record_uri": r["uri"], "record_cid": None, "subject_uri": None, "created_at": r["created_at"]}
        for r in inserted
    ]  # fmt: skip
    await notify_members(conn, notes, fx)


async def delete(conn: asyncpg.Connection, kind: Kind, ops: list[Op], fx: Effects) -> None:
    """Delete follows or blocks by uri and undo their effects; a waiting duplicate takes a deleted row's place."""
    if not ops:
        return
    uris = [op.uri for op in ops]
    await conn.execute(FORGET, uris)
    gone = await conn.fetch(
        f"DELETE FROM {kind.table} WHERE uri = ANY($1::text[]) RETURNING uri, author_did, subject_did", uris
    )
    if not gone:
        return
    await _viewer(conn, kind, gone, clear=True)
    if kind.notification is None:
        _blocks_changed(gone, fx)
    else:
        for row in gone:
            fx.actors.update((row["author_did"], row["subject_did"]))
        await forget_notifications(conn, [r["uri"] for r in gone], fx)
    promoted = await conn.fetch(kind.pairs.promote(), [r["author_did"] for r in gone], [r["subject_did"] for r in gone])
    await _took_effect(conn, kind, promoted, fx)
