"""``app.bsky.feed.like`` and ``app.bsky.feed.repost``: a record pointing at a post.

Both share one shape; a repost also adds a feed item (it shows in its author's followers'
timelines). Viewer state and notifications follow the row: inserted with it, removed with it.

An account has at most one row per post in each table; a further record of the pair waits aside
and takes the row's place, with the effects of an insert, when the row is deleted (duplicates.py).
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
from tenants.feed.indexer.records import Subject, did_of


@dataclass(frozen=True)
class Kind:
    """A subject-record collection: its table, viewer column and notification type."""

    table: str
    viewer_column: str
    notification: str
    feed_item: bool

    @property
    def pairs(self) -> Pairs:
        return Pairs(self.table, "subject_uri")


LIKES = Kind("likes", "like_uri", "like", feed_item=False)
REPOSTS = Kind("reposts", "repost_uri", "repost", feed_item=True)


def _insert_sql(kind: Kind) -> str:
    return f"""
    INSERT INTO {kind.table} (uri, cid, author_did, subject_uri, subject_cid, created_at)
    SELECT uri, cid, author_did, subject_uri, subject_cid, created_at
    FROM jsonb_to_recordset($1::jsonb) AS x(uri text, cid text, author_did text, subject_uri text,
                                            subject_cid text, created_at timestamptz)
    ON CONFLICT DO NOTHING
    RETURNING uri, author_did, subject_uri, created_at
    """


def _viewer_set_sql(kind: Kind) -> str:
    return f"""
    INSERT INTO viewer_post_state (viewer_did, post_uri, {kind.viewer_column})
    SELECT v.viewer, v.post, v.uri
    FROM unnest($1::text[], $2::text[], $3::text[]) AS v(viewer, post, uri)
    JOIN members m ON m.did = v.viewer
    ON CONFLICT (viewer_did, post_uri) DO UPDATE SET {kind.viewer_column} = EXCLUDED.{kind.viewer_column}
    """


def _viewer_clear_sql(kind: Kind) -> str:
    return f"""
    UPDATE viewer_post_state s SET {kind.viewer_column} = NULL
    FROM unnest($1::text[], $2::text[], $3::text[]) AS v(viewer, post, uri)
    WHERE s.viewer_did = v.viewer AND s.post_uri = v.post AND s.{kind.viewer_column} = v.uri
    """


# Emptied rows are removed so the table holds the same rows however events were batched (a
# member's pinned post keeps its row: migration 0016). (A separate statement: one statement
# can't delete the rows its own CTE updated.)
VIEWER_PRUNE = """
DELETE FROM viewer_post_state s USING unnest($1::text[], $2::text[]) AS v(viewer, post)
WHERE s.viewer_did = v.viewer AND s.post_uri = v.post AND s.like_uri IS NULL AND s.repost_uri IS NULL
    AND NOT s.pinned
"""


REPOST_ITEMS = """
INSERT INTO feed_items (uri, type, post_uri, originator_did, sort_at)
SELECT uri, 'repost', subject_uri, author_did, least(created_at, now())
FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS r(uri, subject_uri, author_did, created_at)
ON CONFLICT (uri) DO NOTHING
"""


def _columns(rows: list[Any]) -> tuple[list[str], list[str], list[str]]:
    return [r["author_did"] for r in rows], [r["subject_uri"] for r in rows], [r["uri"] for r in rows]


async def insert(conn: asyncpg.Connection, kind: Kind, ops: list[Op], fx: Effects) -> None:
    """Insert likes or reposts; counts, viewer state and notifications follow real inserts only."""
    rows: list[dict[str, Any]] = []
    for op in ops:
        if isinstance(op.record, Subject):
            rec = op.record
            rows.append({"uri": op.uri, "cid": op.cid, "author_did": op.did, "subject_uri": rec.uri,
                         "subject_cid": rec.cid, "created_at": rec.created_at})  # fmt: skip
            fx.stubs.add(op.did)
    if not rows:
        return
    inserted = await conn.fetch(_insert_sql(kind), rows_json(rows))
    if len(inserted) < len(rows):
        await conn.execute(kind.pairs.set_aside(), rows_json(rows))
    await _took_effect(conn, kind, inserted, fx)


async def _took_effect(conn: asyncpg.Connection, kind: Kind, inserted: list[Any], fx: Effects) -> None:
    """Viewer state, the repost's feed item, recounts and notifications of rows that became the pair's row."""
    if not inserted:
        return
    await conn.execute(_viewer_set_sql(kind), *last_per_pair(*_columns(inserted)))
    if kind.feed_item:
        await conn.execute(REPOST_ITEMS, *reversed(_columns(inserted)), [r["created_at"] for r in inserted])
    fx.posts.update(r["subject_uri"] for r in inserted)
    notes = [
        {"recipient_did": did_of(r["subject_uri"]), "type": kind.notification, "actor_did": r["author_did"],
         "record_uri": r["uri"], "record_cid": None, "subject_uri": r["subject_uri"],
         "created_at": r["created_at"]}
        for r in inserted
    ]  # fmt: skip
    await notify_members(conn, notes, fx)


async def delete(conn: asyncpg.Connection, kind: Kind, ops: list[Op], fx: Effects) -> None:
    """Delete likes or reposts by uri and undo their effects; a waiting duplicate takes a deleted row's place."""
    if not ops:
        return
    uris = [op.uri for op in ops]
    await conn.execute(FORGET, uris)
    gone = await conn.fetch(
        f"DELETE FROM {kind.table} WHERE uri = ANY($1::text[]) RETURNING uri, author_did, subject_uri", uris
    )
    if not gone:
        return
    await conn.execute(_viewer_clear_sql(kind), *_columns(gone))
    await conn.execute(VIEWER_PRUNE, *_columns(gone)[:2])
    if kind.feed_item:
        await conn.execute("DELETE FROM feed_items WHERE uri = ANY($1::text[])", [r["uri"] for r in gone])
    fx.posts.update(r["subject_uri"] for r in gone)
    await forget_notifications(conn, [r["uri"] for r in gone], fx)
    authors, subjects, _ = _columns(gone)
    await _took_effect(conn, kind, await conn.fetch(kind.pairs.promote(), authors, subjects), fx)
