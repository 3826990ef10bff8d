"""Who matters to the feed: members, the accounts members follow, and accounts with stored records.

The reader consults this for every event and updates it in stream order, so each event's fate
depends only on the events before it — a crash and replay reach the same decisions.
"""

from __future__ import annotations

import asyncpg

from tenants.feed.indexer.bloom import Bloom


class Tracker:
    """Members, follow counts of members' followees, and a Bloom filter of stored accounts."""

    def __init__(self, bloom_bits: int) -> None:
        self.members: set[str] = set()
        # followee DID -> number of members following it (unfollows need the count).
        self.followed: dict[str, int] = {}
        self.bloom = Bloom(bloom_bits)
        self._bloom_bits = bloom_bits

    def tracked(self, did: str) -> bool:
        """A member or someone a member follows: every post of theirs is kept."""
        return did in self.members or did in self.followed

    def known(self, did: str) -> bool:
        """May own stored records (Bloom filter: false positives only cost a database check)."""
        return did in self.bloom or did in self.followed or did in self.members

    def note(self, did: str) -> None:
        """Remember that ``did`` now owns or is the subject of a stored record."""
        self.bloom.add(did)

    def follow(self, did: str) -> bool:
        """A member followed ``did``; True when that made ``did`` tracked."""
        count = self.followed.get(did, 0)
        self.followed[did] = count + 1
        self.note(did)
        return count == 0 and did not in self.members

    def set_followers(self, did: str, count: int) -> None:
        """After an unfollow: ``count`` members still follow ``did`` (read from the database)."""
        if count <= 0:
            self.followed.pop(did, None)
        else:
            self.followed[did] = count

    def join(self, did: str) -> None:
        """``did`` became a member."""
        self.members.add(did)
        self.note(did)

    def leave(self, did: str, followees: list[str]) -> None:
        """``did`` stopped being a member; it no longer keeps ``followees`` tracked."""
        self.members.discard(did)
        for followee in followees:
            self.set_followers(followee, self.followed.get(followee, 0) - 1)

    async def load(self, conn: asyncpg.Connection) -> None:
        """Rebuild everything from the database (start, membership change)."""
        self.members = {row["did"] for row in await conn.fetch("SELECT did FROM members")}
        await self.recount_followed(conn)
        self.bloom = Bloom(self._bloom_bits)
        async with conn.transaction():
            async for row in conn.cursor("SELECT did FROM profiles", prefetch=5000):
                self.bloom.add(row["did"])
        for did in (*self.members, *self.followed):
            self.bloom.add(did)

    async def recount_followed(self, conn: asyncpg.Connection) -> None:
        """Count again, from the database, how many members follow each account."""
        rows = await conn.fetch(
            "SELECT f.subject_did, count(*) AS n FROM follows f JOIN members m ON m.did = f.author_did "
            "GROUP BY f.subject_did"
        )
        self.followed = {row["subject_did"]: row["n"] for row in rows}
