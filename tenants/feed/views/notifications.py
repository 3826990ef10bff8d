"""A member's notifications as ``app.bsky.notification.listNotifications#notification`` views."""

from __future__ import annotations

import asyncpg

from tenants.feed.cursor import Cursors
from tenants.feed.views.pages import Page
from tenants.feed.views.present import active

# The notification's record: likes, reposts and follows are stored as rows, so their records are rebuilt.
VIEW = """
jsonb_strip_nulls(jsonb_build_object(
    'uri', n.record_uri, 'cid', coalesce(n.record_cid, l.cid, r.cid, f.cid, p.cid, ''),
    'author', feed_profile(n.actor_did, n.recipient_did, 1), 'reason', n.type, 'reasonSubject', n.subject_uri,
    'isRead', n.is_read, 'indexedAt', feed_ts(n.indexed_at), 'labels', '[]'::jsonb,
    'record', coalesce(CASE n.type
        WHEN 'like' THEN jsonb_build_object('$type', 'app.bsky.feed.like', 'createdAt', feed_ts(l.created_at),
            'subject', jsonb_build_object('uri', l.subject_uri, 'cid', coalesce(l.subject_cid, '')))
        WHEN 'repost' THEN jsonb_build_object('$type', 'app.bsky.feed.repost', 'createdAt', feed_ts(r.created_at),
            'subject', jsonb_build_object('uri', r.subject_uri, 'cid', coalesce(r.subject_cid, '')))
        WHEN 'follow' THEN jsonb_build_object('$type', 'app.bsky.graph.follow', 'subject', f.subject_did,
            'createdAt', feed_ts(f.created_at))
        ELSE p.record END, '{}'::jsonb)))
"""
JOINS = """
LEFT JOIN likes l ON n.type = 'like' AND l.uri = n.record_uri
LEFT JOIN reposts r ON n.type = 'repost' AND r.uri = n.record_uri
LEFT JOIN follows f ON n.type = 'follow' AND f.uri = n.record_uri
LEFT JOIN posts p ON n.type IN ('reply', 'mention', 'quote') AND p.uri = n.record_uri
"""
# Notifications from inactive accounts are left out (kept, and back when the account is).
HIDDEN = active("n.actor_did")
# ``priority``: only from accounts the member follows, as Bluesky's AppView (its data plane's
# priority filter); the viewer-state row holds the member's follow of the actor.
PRIORITY = """(NOT {flag} OR EXISTS (SELECT 1 FROM viewer_actor_state pf WHERE pf.viewer_did = {did}
    AND pf.subject_did = {actor} AND pf.follow_uri IS NOT NULL))"""
LIST = f"""
WITH skeleton AS (
    SELECT * FROM notifications WHERE recipient_did = $1
      AND (created_at, id) < (CAST($2::text AS timestamptz), $3::bigint) AND ($5::text[] IS NULL OR type = ANY($5))
      AND {PRIORITY.format(flag="$6::bool", did="$1", actor="notifications.actor_did")}
    ORDER BY created_at DESC, id DESC LIMIT $4)
SELECT (SELECT coalesce(jsonb_agg({VIEW} ORDER BY n.created_at DESC, n.id DESC), '[]')::text
        FROM skeleton n {JOINS} WHERE NOT feed_blocked(n.recipient_did, n.actor_did) AND {HIDDEN}) AS items,
       (SELECT count(*) FROM skeleton) AS n,
       (SELECT array[created_at::text, id::text] FROM skeleton ORDER BY created_at, id LIMIT 1) AS last,
       (SELECT feed_ts(notifications_seen_at) FROM members WHERE did = $1) AS seen_at
"""
# Live delivery follows the list's rule: nothing from an account blocked either way, or inactive.
ONE = f"""
SELECT {VIEW}::text FROM notifications n {JOINS}
WHERE n.id = $1 AND NOT feed_blocked(n.recipient_did, n.actor_did) AND {HIDDEN}
"""
UNREAD = f"""
SELECT count(*) FROM notifications n
WHERE n.recipient_did = $1 AND NOT n.is_read AND NOT feed_blocked($1, n.actor_did) AND {HIDDEN}
  AND {PRIORITY.format(flag="$2::bool", did="$1", actor="n.actor_did")}
"""
MARK_READ = """
UPDATE notifications SET is_read = true
WHERE recipient_did = $1 AND NOT is_read AND ($2::bigint[] IS NULL OR id = ANY($2)) AND indexed_at <= $3
"""
SEEN = "UPDATE members SET notifications_seen_at = greatest(notifications_seen_at, $2) WHERE did = $1"
MAX_ID = 2**63 - 1


async def listing(
    conn: asyncpg.Connection,
    cursors: Cursors,
    did: str,
    limit: int,
    cursor: str | None,
    reasons: list[str] | None,
    priority: bool = False,
) -> tuple[Page, str | None]:
    """A page of ``did``'s notifications, newest first (``priority``: from accounts they follow), and
    when they were last seen."""
    key = cursors.decode(cursor, str, int) or ["infinity", MAX_ID]
    row = await conn.fetchrow(LIST, did, key[0], key[1], limit, reasons, priority)
    assert row is not None
    last = row["last"]
    following = cursors.encode(last[0], int(last[1])) if row["n"] == limit and last else None
    return Page(row["items"], following), row["seen_at"]


async def one(conn: asyncpg.Connection, notification_id: int) -> str | None:
    """The view of one notification (for live delivery)."""
    value = await conn.fetchval(ONE, notification_id)
    return None if value is None else str(value)


async def unread(conn: asyncpg.Connection, did: str, priority: bool = False) -> int:
    """Unread notifications of ``did`` (``priority``: from accounts they follow)."""
    return int(await conn.fetchval(UNREAD, did, priority))
