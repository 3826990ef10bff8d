"""The hub: one NOTIFY subscriber per process that hydrates each event once and fans it out.

Events come from the indexer and from API writes alike (section 7 of the design). A frame is
built and serialised once per event; the audience rule then picks peers: post events go to
every signed-in member who has not blocked (or been blocked by) the author (of a reply, nor the
authors of its parent and root), notifications to their recipient, profile changes to the
account and its connected followers (blocks either way excepted there too).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from typing import Any

import orjson

from shared.db.notify import Event
from tenants.feed.appview import AppView
from tenants.feed.db import acquire
from tenants.feed.indexer.records import did_of
from tenants.feed.live.peer import Frame, Peer
from tenants.feed.views import notifications
from tenants.feed.views.present import active

log = logging.getLogger("onebox.feed.live")

# Nothing is sent about an inactive account's posts and profile, as the views show none of them.
COUNTS = f"""SELECT like_count, repost_count, reply_count, quote_count FROM posts p
WHERE uri = $1 AND {active("p.author_did")}"""
REPLY = f"SELECT feed_post(p, NULL)::text FROM posts p WHERE p.uri = $1 AND {active('p.author_did')}"
PROFILE = f"SELECT CASE WHEN {active('$1::text')} THEN feed_profile($1, NULL, 2)::text END"
FOLLOWERS = """
SELECT viewer_did FROM viewer_actor_state WHERE subject_did = $1 AND follow_uri IS NOT NULL
AND viewer_did = ANY($2::text[])
"""
BLOCKS = """
SELECT subject_did FROM viewer_actor_state WHERE viewer_did = $1
AND (blocking_uri IS NOT NULL OR blocked_by_uri IS NOT NULL)
"""


def frame(kind: str, message: dict[str, Any]) -> Frame:
    """A frame: its type, the message (with ``type``) and the message's JSON text."""
    doc = {"type": kind, **message}
    return kind, doc, orjson.dumps(doc).decode()


class Hub:
    """Connected peers of this process and the fan-out of bus events to them."""

    def __init__(self, av: AppView) -> None:
        self.av = av
        self.peers: set[Peer] = set()
        self.members: dict[str, set[Peer]] = defaultdict(set)
        self.delivered = 0
        self.events = 0

    def attach(self, peer: Peer) -> None:
        """A new connection (not yet signed in)."""
        self.peers.add(peer)

    async def sign_in(self, peer: Peer, did: str, expires_at: int) -> None:
        """Mark ``peer`` as ``did`` and load the accounts it must not hear about (blocks)."""
        async with acquire(self.av.ctx) as conn:
            rows = await conn.fetch(BLOCKS, did)
        if peer.did is not None:
            self.members[peer.did].discard(peer)
        peer.did, peer.expires_at = did, expires_at
        peer.blocked = frozenset(row["subject_did"] for row in rows)
        self.members[did].add(peer)

    def detach(self, peer: Peer) -> None:
        """A closed connection."""
        self.peers.discard(peer)
        if peer.did is not None:
            group = self.members.get(peer.did)
            if group is not None:
                group.discard(peer)
                if not group:
                    del self.members[peer.did]

    def stats(self) -> dict[str, Any]:
        """Connection counts for health and metrics."""
        signed_in = sum(len(group) for group in self.members.values())
        return {
            "connections": len(self.peers),
            "authenticated": signed_in,
            "members": len(self.members),
            "events": self.events,
            "frames_delivered": self.delivered,
        }

    def _send(self, peers: Any, out: Frame) -> None:
        for peer in peers:
            peer.offer(out)
            self.delivered += 1

    def _signed_in(self) -> list[Peer]:
        return self._live(p for group in self.members.values() for p in group)

    @staticmethod
    def _live(peers: Any) -> list[Peer]:
        """Those whose token has not expired (a connection may outlive it until it is closed)."""
        now = time.time()
        return [p for p in peers if p.expires_at > now]

    async def on_event(self, event: Event) -> None:
        """Turn one bus event into a frame and deliver it to its audience."""
        if not self.peers:
            return
        self.events += 1
        data = event.data
        async with acquire(self.av.ctx) as conn:
            if event.event == "blocks_changed" and isinstance(data.get("dids"), list):
                for did in data["dids"]:
                    peers = list(self.members.get(did, ())) if isinstance(did, str) else []
                    if peers:
                        blocked = frozenset(row["subject_did"] for row in await conn.fetch(BLOCKS, did))
                        for peer in peers:
                            peer.blocked = blocked
            elif event.event == "post_updated" and isinstance(data.get("uri"), str):
                uri = data["uri"]
                row = await conn.fetchrow(COUNTS, uri)
                if row is None:
                    return
                counts = {"uri": uri, "likeCount": row[0], "repostCount": row[1], "replyCount": row[2],
                          "quoteCount": row[3]}  # fmt: skip
                author = did_of(uri)
                out = frame("post_updated", {**counts, "post": counts})
                self._send((p for p in self._signed_in() if author not in p.blocked and p.wants_post(uri)), out)
            elif event.event == "post_deleted" and isinstance(data.get("uri"), str):
                uri = data["uri"]
                out = frame("post_deleted", {"uri": uri})
                author = did_of(uri)
                self._send(
                    (p for p in self._signed_in() if author not in p.blocked and p.wants_post(uri, data.get("root"))),
                    out,
                )
            elif event.event == "reply_added" and isinstance(data.get("uri"), str):
                view = await conn.fetchval(REPLY, data["uri"])
                if view is None:
                    return
                parent, root = data.get("parent"), data.get("root")
                # The feeds hide a reply by an account blocked either way, and one on its thread too.
                accounts = {did_of(uri) for uri in (data["uri"], parent, root) if isinstance(uri, str)}
                out = frame("reply_added", {"parentUri": parent, "rootUri": root, "reply": orjson.loads(view)})
                self._send(
                    (p for p in self._signed_in() if p.blocked.isdisjoint(accounts) and p.wants_post(parent, root)),
                    out,
                )
            elif event.event == "notification" and isinstance(data.get("id"), int) and event.room:
                recipient = event.room.removeprefix("user:")
                peers = self._live(self.members.get(recipient, ()))
                view = await notifications.one(conn, data["id"]) if peers else None
                if peers and view is not None:
                    self._send(list(peers), frame("notification", {"notification": orjson.loads(view)}))
            elif event.event == "profile_updated" and isinstance(data.get("did"), str):
                did = data["did"]
                rows = await conn.fetch(FOLLOWERS, did, list(self.members))
                audience = {did, *(row["viewer_did"] for row in rows)}
                # A follow record outlives a block made later: the block decides, as for posts.
                connected = (peer for member in audience for peer in self.members.get(member, ()))
                watching = [p for p in self._live(connected) if did not in p.blocked]
                view = await conn.fetchval(PROFILE, did) if watching else None
                if view is not None:
                    self._send(watching, frame("profile_updated", {"did": did, "profile": orjson.loads(view)}))
