"""What every collection processor shares: the effects of a write and the JSON row transport.

Rows travel to PostgreSQL as one JSON array per statement (``jsonb_to_recordset``): one round
trip per table per batch, whatever the batch size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from tenants.feed.indexer.events import Op
from tenants.feed.indexer.records import BLOCK, FOLLOW, LIKE, POST, PROFILE, REPOST


def instant(time_us: int) -> datetime:
    """``time_us`` as an aware datetime."""
    return datetime.fromtimestamp(time_us / 1_000_000, UTC)


def fetched_at(op: Op) -> datetime | None:
    """When a backfill page holding ``op`` was fetched; None for a live record (written at ``now()``)."""
    return None if op.live else instant(op.time_us)


def last_per_pair(a: list[str], b: list[str], uris: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Columns with one entry per (a, b) pair, the last one winning.

    An ``INSERT ... ON CONFLICT DO UPDATE`` may not touch a row twice, and one batch can hold two
    records for one pair (a member liking a post twice, say).
    """
    latest = {(x, y): uri for x, y, uri in zip(a, b, uris, strict=True)}
    return [x for x, _ in latest], [y for _, y in latest], list(latest.values())


def rows_json(rows: list[dict[str, Any]]) -> str:
    """Rows as the JSON text ``jsonb_to_recordset`` reads (datetimes as RFC 3339)."""
    return orjson.dumps(rows).decode()


# What a backfill job fetches, by why it was queued.
FOLLOWEE_COLLECTIONS = [PROFILE, POST, REPOST]
MEMBER_COLLECTIONS = [PROFILE, POST, REPOST, LIKE, FOLLOW, BLOCK]
PROFILE_COLLECTIONS = [PROFILE]


@dataclass
class Notice:
    """A notification row that was really inserted: pushed to the member's devices after commit."""

    id: int
    recipient: str
    type: str
    actor: str
    record_uri: str
    subject_uri: str | None


@dataclass
class Effects:
    """Consequences gathered while a batch is written, applied in the same transaction or after it."""

    live: bool = True
    posts: set[str] = field(default_factory=set)  # posts whose counts to recompute
    actors: set[str] = field(default_factory=set)  # profiles whose counts to recompute
    stubs: set[str] = field(default_factory=set)  # accounts that need a profile row
    shown: set[str] = field(default_factory=set)  # accounts shown by name: fetch their profile
    followees: set[str] = field(default_factory=set)  # newly followed by a member: backfill
    events: list[tuple[str, str | None, dict[str, Any]]] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    def emit(self, event: str, room: str | None, data: dict[str, Any]) -> None:
        """Queue a NOTIFY event; backfilled history is not news, so only live writes emit."""
        if self.live:
            self.events.append((event, room, data))

    def retract(self, notification_ids: set[int]) -> None:
        """Notifications deleted again before commit (a like undone in the same batch): not news."""
        self.notices = [n for n in self.notices if n.id not in notification_ids]
        self.events = [e for e in self.events if not (e[0] == "notification" and e[2].get("id") in notification_ids)]


NOTIFICATIONS_SQL = """
INSERT INTO notifications (recipient_did, type, actor_did, record_uri, record_cid, subject_uri, created_at)
SELECT n.recipient_did, n.type, n.actor_did, n.record_uri, n.record_cid, n.subject_uri, n.created_at
FROM jsonb_to_recordset($1::jsonb) AS n(recipient_did text, type text, actor_did text, record_uri text,
                                        record_cid text, subject_uri text, created_at timestamptz)
JOIN members m ON m.did = n.recipient_did
WHERE n.recipient_did <> n.actor_did
ON CONFLICT (record_uri, recipient_did, type) DO NOTHING
RETURNING id, recipient_did, type, actor_did, record_uri, subject_uri
"""


async def notify_members(conn: asyncpg.Connection, rows: list[dict[str, Any]], fx: Effects) -> None:
    """Insert notifications for the recipients that are members (never to oneself)."""
    if not rows:
        return
    for row in await conn.fetch(NOTIFICATIONS_SQL, rows_json(rows)):
        notice = Notice(
            row["id"], row["recipient_did"], row["type"], row["actor_did"], row["record_uri"], row["subject_uri"]
        )
        fx.notices.append(notice)
        fx.shown.add(notice.actor)
        fx.emit(
            "notification",
            f"user:{notice.recipient}",
            {"id": notice.id, "type": notice.type, "actor": notice.actor, "uri": notice.record_uri,
             "subject": notice.subject_uri},
        )  # fmt: skip


async def forget_notifications(conn: asyncpg.Connection, record_uris: list[str], fx: Effects) -> None:
    """A deleted record takes its notifications with it (and their pushes, if not yet sent)."""
    if record_uris:
        rows = await conn.fetch(
            "DELETE FROM notifications WHERE record_uri = ANY($1::text[]) RETURNING id", record_uris
        )
        if rows:
            fx.retract({row["id"] for row in rows})
