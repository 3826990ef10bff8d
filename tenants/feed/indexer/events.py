"""Jetstream frames turned into :class:`Op` (one record change, identity or account event).

The frame shape is Jetstream's ``/subscribe`` JSON: ``{"did", "time_us", "kind": "commit" |
"identity" | "account", "commit": {"rev", "operation", "collection", "rkey", "record", "cid"}}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeGuard

import orjson

from shared.db.nul import has_nul, strip_nul
from tenants.feed.indexer.records import COLLECTIONS, Malformed, Record, parse_record

COMMIT = "commit"
IDENTITY = "identity"
ACCOUNT = "account"


@dataclass(slots=True)
class Op:
    """One change to apply. ``record`` is None for deletes; identity/account carry ``value``."""

    time_us: int
    did: str
    kind: str
    collection: str = ""
    rkey: str = ""
    action: str = ""
    cid: str | None = None
    record: Record | None = None
    # identity: the new handle; account: the status (None when active).
    value: str | None = None
    # Keep only if one of these posts is stored (decided by the writer, in stream order).
    checks: tuple[str, ...] = ()
    # A member's follow that made its subject tracked: the writer queues the subject's backfill.
    newly_tracked: bool = False
    # A profile of a tracked account (stored even if it has no row yet).
    tracked: bool = False
    live: bool = True
    # The repository revision of the commit (a TID: sortable, rising with each commit of a repo).
    rev: str | None = None

    @property
    def uri(self) -> str:
        """The record's AT URI."""
        return f"at://{self.did}/{self.collection}/{self.rkey}"


MAX_TIME_US = 2**62


def _valid_rkey(rkey: Any) -> TypeGuard[str]:
    return isinstance(rkey, str) and 0 < len(rkey) <= 512 and "/" not in rkey


def decode(frame: str | bytes, max_bytes: int) -> Op:
    """Parse and check one frame; raises :class:`Malformed` with the reason to count."""
    if len(frame) > max_bytes:
        raise Malformed("too_large")
    try:
        doc = orjson.loads(frame)
    except orjson.JSONDecodeError:
        raise Malformed("bad_json") from None
    # JSON carries U+0000 only escaped, so a frame without the escape needs no walk.
    if (b"\\u0000" in frame) if isinstance(frame, bytes) else ("\\u0000" in frame):
        doc = strip_nul(doc)
    if not isinstance(doc, dict):
        raise Malformed("bad_event")
    did = doc.get("did")
    time_us = doc.get("time_us")
    if not isinstance(did, str) or not did.startswith("did:") or len(did) > 2048 or type(time_us) is not int:
        raise Malformed("missing_fields")
    # The cursor is a bigint: a stamp past it would make every save of the batch fail, for ever.
    if not 0 < time_us < MAX_TIME_US:
        raise Malformed("bad_time")
    kind = doc.get("kind")
    if kind == COMMIT:
        return _commit(did, time_us, doc.get("commit"))
    if kind == IDENTITY:
        body = doc.get("identity")
        handle = body.get("handle") if isinstance(body, dict) else None
        return Op(time_us, did, IDENTITY, value=handle if isinstance(handle, str) else None)
    if kind == ACCOUNT:
        body = doc.get("account")
        if not isinstance(body, dict) or not isinstance(body.get("active"), bool):
            raise Malformed("bad_account")
        status = None if body["active"] else str(body.get("status") or "deactivated")
        return Op(time_us, did, ACCOUNT, value=status)
    raise Malformed("unknown_kind")


def _commit(did: str, time_us: int, commit: Any) -> Op:
    if not isinstance(commit, dict):
        raise Malformed("missing_fields")
    collection = commit.get("collection")
    if collection not in COLLECTIONS:
        raise Malformed("unknown_collection")
    assert isinstance(collection, str)
    action = commit.get("operation")
    rkey = commit.get("rkey")
    if not _valid_rkey(rkey):
        raise Malformed("bad_rkey")
    rev = commit.get("rev")
    rev = rev if isinstance(rev, str) and 0 < len(rev) <= 64 else None
    if action == "delete":
        return Op(time_us, did, COMMIT, collection, rkey, action, rev=rev)
    if action not in ("create", "update"):
        raise Malformed("bad_operation")
    cid = commit.get("cid")
    if not isinstance(cid, str) or not cid:
        raise Malformed("missing_cid")
    record = parse_record(collection, commit.get("record"))
    return Op(time_us, did, COMMIT, collection, rkey, action, cid, record, rev=rev)


def from_listed_record(did: str, collection: str, item: Any, time_us: int) -> Op:
    """An op from one ``com.atproto.repo.listRecords`` entry (``{"uri", "cid", "value"}``)."""
    if not isinstance(item, dict) or not isinstance(item.get("uri"), str) or not isinstance(item.get("cid"), str):
        raise Malformed("bad_listed_record")
    prefix = f"at://{did}/{collection}/"
    uri: str = item["uri"]
    if not uri.startswith(prefix) or not _valid_rkey(uri[len(prefix) :]):
        raise Malformed("bad_listed_record")
    value = item.get("value")
    record = parse_record(collection, strip_nul(value) if has_nul(value) else value)
    return Op(time_us, did, COMMIT, collection, uri[len(prefix) :], "create", item["cid"], record, live=False)
