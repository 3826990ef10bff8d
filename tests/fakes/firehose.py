"""Jetstream events in the real v1 shape, and a seeded generator of a realistic stream.

Used by the feed tests and by ``bench/feed_indexer.py``.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

POST = "app.bsky.feed.post"
LIKE = "app.bsky.feed.like"
REPOST = "app.bsky.feed.repost"
FOLLOW = "app.bsky.graph.follow"
BLOCK = "app.bsky.graph.block"
PROFILE = "app.bsky.actor.profile"


def iso(when: datetime) -> str:
    """An atproto datetime string."""
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


def tid(time_us: int, clock_id: int = 0) -> str:
    """A TID as atproto writes one (13 base32-sortable characters): revisions sort by time."""
    value = (time_us << 10) | (clock_id & 0x3FF)
    return "".join(TID_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def uri(did: str, collection: str, rkey: str) -> str:
    """An AT URI."""
    return f"at://{did}/{collection}/{rkey}"


class Firehose:
    """Builds events with increasing ``time_us`` and record ``createdAt`` near it."""

    def __init__(self, start_us: int, step_us: int = 1000) -> None:
        self.time_us = start_us
        self.step_us = step_us
        self.serial = 0

    def _next(self) -> int:
        self.time_us += self.step_us
        return self.time_us

    def rkey(self) -> str:
        """A fresh record key (sortable, like a TID)."""
        self.serial += 1
        return f"3k{self.serial:011d}"

    def created(self) -> str:
        """``createdAt`` for a record made now (in stream time)."""
        return iso(datetime.fromtimestamp(self.time_us / 1_000_000, UTC) - timedelta(milliseconds=5))

    def commit(
        self, did: str, collection: str, rkey: str, record: dict[str, Any] | None = None, operation: str = "create"
    ) -> dict[str, Any]:
        """A commit event; ``record`` None makes a delete."""
        time_us = self._next()
        commit: dict[str, Any] = {
            "rev": tid(time_us),
            "operation": operation if record else "delete",
            "collection": collection,
            "rkey": rkey,
        }
        if record is not None:
            commit["record"] = {"$type": collection, **record}
            commit["cid"] = f"bafy{collection[-4:]}{rkey}{len(str(record))}"
        return {"did": did, "time_us": time_us, "kind": "commit", "commit": commit}

    def post(
        self,
        did: str,
        text: str = "hello",
        rkey: str | None = None,
        *,
        reply_to: tuple[str, str] | None = None,
        quote: str | None = None,
        mentions: tuple[str, ...] = (),
        tags: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """A post; ``reply_to`` is (parent uri, root uri)."""
        record: dict[str, Any] = {"text": text, "createdAt": self.created(), "langs": ["en"]}
        facets = [
            {
                "index": {"byteStart": 0, "byteEnd": 1},
                "features": [{"$type": "app.bsky.richtext.facet#mention", "did": d}],
            }
            for d in mentions
        ]
        facets += [
            {"index": {"byteStart": 0, "byteEnd": 1}, "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": t}]}
            for t in tags
        ]
        if facets:
            record["facets"] = facets
        if reply_to:
            record["reply"] = {
                "parent": {"uri": reply_to[0], "cid": "bafyparent"},
                "root": {"uri": reply_to[1], "cid": "bafyroot"},
            }
        if quote:
            record["embed"] = {"$type": "app.bsky.embed.record", "record": {"uri": quote, "cid": "bafyq"}}
        return self.commit(did, POST, rkey or self.rkey(), record)

    def like(self, did: str, subject: str, rkey: str | None = None, collection: str = LIKE) -> dict[str, Any]:
        """A like (or a repost with ``collection=REPOST``) of ``subject``."""
        record = {"subject": {"uri": subject, "cid": "bafysubject"}, "createdAt": self.created()}
        return self.commit(did, collection, rkey or self.rkey(), record)

    def follow(self, did: str, subject: str, rkey: str | None = None, collection: str = FOLLOW) -> dict[str, Any]:
        """A follow (or a block with ``collection=BLOCK``) of ``subject``."""
        return self.commit(did, collection, rkey or self.rkey(), {"subject": subject, "createdAt": self.created()})

    def profile(self, did: str, name: str) -> dict[str, Any]:
        """A profile record update."""
        return self.commit(did, PROFILE, "self", {"displayName": name, "description": f"about {name}"})

    def delete(self, did: str, collection: str, rkey: str) -> dict[str, Any]:
        """A delete of a record."""
        return self.commit(did, collection, rkey, None)

    def identity(self, did: str, handle: str) -> dict[str, Any]:
        """An identity (handle) event."""
        return {
            "did": did,
            "time_us": self._next(),
            "kind": "identity",
            "identity": {"did": did, "handle": handle, "seq": self.serial, "time": self.created()},
        }

    def account(self, did: str, active: bool, status: str | None = None) -> dict[str, Any]:
        """An account (status) event."""
        body: dict[str, Any] = {"did": did, "active": active, "seq": self.serial, "time": self.created()}
        if status:
            body["status"] = status
        return {"did": did, "time_us": self._next(), "kind": "account", "account": body}


def realistic(
    hose: Firehose,
    rng: random.Random,
    dids: list[str],
    members: list[str],
    count: int,
    tags: tuple[str, ...] = ("cannabis",),
    member_follows: bool = True,
) -> list[dict[str, Any]]:
    """``count`` events in Jetstream's usual mix: mostly likes, a few percent posts, some deletes."""
    posts: list[str] = []
    records: list[tuple[str, str, str]] = []  # (did, collection, rkey) that may be deleted later
    events: list[dict[str, Any]] = []
    for _ in range(count):
        did = rng.choice(members) if members and rng.random() < 0.05 else rng.choice(dids)
        roll = rng.random()
        if roll < 0.06 or not posts:
            tagged = rng.random() < 0.15
            reply = rng.choice(posts) if posts and rng.random() < 0.3 else None
            event = hose.post(
                did,
                f"post {hose.serial}" + (" #cannabis" if tagged else ""),
                reply_to=(reply, reply) if reply else None,
                mentions=(rng.choice(members),) if members and rng.random() < 0.03 else (),
                tags=tags if tagged and rng.random() < 0.5 else (),
            )
            posts.append(uri(did, POST, event["commit"]["rkey"]))
        elif roll < 0.74:
            event = hose.like(did, rng.choice(posts[-2000:]))
        elif roll < 0.81:
            event = hose.like(did, rng.choice(posts[-2000:]), collection=REPOST)
        elif roll < 0.91:
            follower = rng.choice(members) if member_follows and members and rng.random() < 0.2 else did
            event = hose.follow(follower, rng.choice(dids))
        elif roll < 0.92:
            event = hose.follow(did, rng.choice(dids), collection=BLOCK)
        elif roll < 0.93:
            event = hose.profile(did, f"name {hose.serial}")
        elif roll < 0.94:
            event = hose.identity(did, did.split(":")[-1] + ".test")
        elif records:
            victim = records.pop(rng.randrange(len(records)))
            event = hose.delete(*victim)
            if victim[1] == POST:
                posts.remove(uri(*victim))
        else:
            continue
        if event["kind"] == "commit" and event["commit"]["operation"] == "create" and rng.random() < 0.08:
            commit = event["commit"]
            if commit["collection"] != PROFILE and not (commit["collection"] == FOLLOW and event["did"] in members):
                records.append((event["did"], commit["collection"], commit["rkey"]))
        events.append(event)
    return events
