"""Which events the feed keeps: community-tagged posts, members' and followees' activity, and
everything that touches a stored post or a member.

Decisions that need the database ("is this post stored?") are left to the writer as
``op.checks``; a Bloom filter of accounts with stored records keeps those checks rare.
"""

from __future__ import annotations

from collections.abc import Iterable

from tenants.feed.indexer.events import ACCOUNT, IDENTITY, Op
from tenants.feed.indexer.records import (
    BLOCK,
    FOLLOW,
    LIKE,
    POST,
    PROFILE,
    REPOST,
    Graph,
    Post,
    Subject,
    did_of,
)
from tenants.feed.indexer.tracker import Tracker


class Relevance:
    """The keep/skip decision for one op, updating the tracker in stream order."""

    def __init__(self, tracker: Tracker, tags: Iterable[str]) -> None:
        self.tracker = tracker
        self.tags = frozenset(tags)

    def is_member_unfollow(self, op: Op) -> bool:
        """A member deleted a follow: the reader must look up whom before deciding more."""
        return op.collection == FOLLOW and op.action == "delete" and op.did in self.tracker.members

    def keep(self, op: Op) -> bool:
        """True when ``op`` should be written; notes the accounts it involves."""
        tracker = self.tracker
        if op.kind in (IDENTITY, ACCOUNT):
            return tracker.known(op.did)
        if op.action == "delete":
            # A profile is never deleted in practice; its row stays until the account goes.
            return op.collection != PROFILE and tracker.known(op.did)
        record = op.record
        if op.collection == POST and isinstance(record, Post):
            kept = self._post(op, record)
        elif op.collection in (LIKE, REPOST) and isinstance(record, Subject):
            kept = self._subject(op, record)
        elif op.collection == FOLLOW and isinstance(record, Graph):
            kept = self._follow(op, record)
        elif op.collection == BLOCK and isinstance(record, Graph):
            members = tracker.members
            kept = op.did in members or record.did in members
            if kept:
                tracker.note(record.did)
        elif op.collection == PROFILE:
            # Untracked accounts only update a row that exists (see the profile processor).
            op.tracked = tracker.tracked(op.did)
            return op.tracked or tracker.known(op.did)
        else:
            return False
        if kept:
            tracker.note(op.did)
        return kept

    def _post(self, op: Op, post: Post) -> bool:
        tracker = self.tracker
        members = tracker.members
        if tracker.tracked(op.did) or (self.tags and not self.tags.isdisjoint(post.tags)):
            return True
        if any(did in members for did in post.mentions):
            return True
        refs = [uri for uri in (post.reply_parent, post.reply_root, post.quote) if uri]
        if any(tracker.tracked(did_of(uri)) for uri in refs):
            return True
        checks = tuple(uri for uri in refs if tracker.known(did_of(uri)))
        if checks:
            op.checks = checks
            return True
        return False

    def _subject(self, op: Op, subject: Subject) -> bool:
        tracker = self.tracker
        author = did_of(subject.uri)
        if op.did in tracker.members or tracker.tracked(author):
            tracker.note(author)
            return True
        if tracker.known(author):
            op.checks = (subject.uri,)
            return True
        return False

    def _follow(self, op: Op, follow: Graph) -> bool:
        tracker = self.tracker
        if op.did in tracker.members:
            # Replays of a create can over-count; the count is made exact again at each unfollow.
            if op.action == "create":
                op.newly_tracked = tracker.follow(follow.did)
            return True
        return follow.did in tracker.members
