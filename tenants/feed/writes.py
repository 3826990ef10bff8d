"""Writes: a member's record goes to their PDS, then into the local index at once.

The local copy is applied by the indexer's own processors, so the copy that later arrives from
Jetstream finds the same row (same URI and CID) and changes nothing: counts, viewer state,
notifications and events happen once, whichever copy lands first.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from shared.errors import ApiError
from tenants.feed.appview import AppView
from tenants.feed.db import acquire
from tenants.feed.indexer.apply import apply_ops, publish
from tenants.feed.indexer.events import COMMIT, Op
from tenants.feed.indexer.processors.base import Effects
from tenants.feed.indexer.records import COLLECTIONS, FOLLOW, POST, Malformed, parse_record
from tenants.feed.sessions import PdsSessions

FIRST_MEMBER_FOLLOW = """
SELECT NOT EXISTS (SELECT 1 FROM follows f JOIN members m ON m.did = f.author_did WHERE f.subject_did = $1)
"""


# app.bsky.feed.post#embed: the union's members and the list each carries (images at most 4).
EMBEDS = {
    "app.bsky.embed.images": ("images", 4),
    "app.bsky.embed.external": ("external", 0),
    "app.bsky.embed.record": ("record", 0),
    "app.bsky.embed.recordWithMedia": ("record", 0),
    "app.bsky.embed.video": ("video", 0),
}


def check_embed(embed: Any) -> None:
    """400 unless ``embed`` is one of the post lexicon's embeds in its basic shape (the PDS checks the rest)."""
    kind = embed.get("$type") if isinstance(embed, dict) else None
    if kind not in EMBEDS:
        raise ApiError(400, "invalid_record", f"embed must be one of {', '.join(EMBEDS)}")
    key, most = EMBEDS[kind]
    value = embed.get(key)
    if most and not (isinstance(value, list) and 0 < len(value) <= most and all(isinstance(v, dict) for v in value)):
        raise ApiError(400, "invalid_record", f"embed.{key} must be a list of 1 to {most} objects")
    if not most and not isinstance(value, dict):
        raise ApiError(400, "invalid_record", f"embed.{key} must be an object")


def now_iso() -> str:
    """An atproto datetime for ``createdAt``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def split_uri(uri: str) -> tuple[str, str, str]:
    """(did, collection, rkey) of an AT URI, or 400."""
    parts = uri.removeprefix("at://").split("/") if uri.startswith("at://did:") else []
    if len(parts) != 3 or not all(parts) or len(uri) > 8192:
        raise ApiError(400, "invalid_uri", f"Not an AT URI of a record: {uri[:200]}")
    return parts[0], parts[1], parts[2]


def commit_rev(result: Any) -> str | None:
    """The revision of the commit a PDS write made (``commit.rev``; optional in the lexicon).

    The local index compares it with the revisions of Jetstream's echoes: the echo of a record
    created and then deleted here is older than the delete, and must not bring the record back.
    """
    commit = result.get("commit") if isinstance(result, dict) else None
    rev = commit.get("rev") if isinstance(commit, dict) else None
    return rev if isinstance(rev, str) and 0 < len(rev) <= 64 else None


def record_ref(written: dict[str, Any]) -> dict[str, str]:
    """``{uri, cid}`` of a write's answer: what the community API returns (XRPC returns it all)."""
    return {"uri": written["uri"], "cid": written["cid"]}


def _answered(result: Any, *names: str) -> dict[str, Any]:
    """The fields ``names`` of a PDS's answer that it gave in their lexicon shape."""
    if not isinstance(result, dict):
        return {}
    kept: dict[str, Any] = {}
    commit = result.get("commit")
    if "commit" in names and isinstance(commit, dict) and all(isinstance(commit.get(k), str) for k in ("cid", "rev")):
        kept["commit"] = {"cid": commit["cid"], "rev": commit["rev"]}
    status = result.get("validationStatus")
    if "validationStatus" in names and isinstance(status, str) and len(status) <= 64:
        kept["validationStatus"] = status
    return kept


class Writes:
    """Create and delete a member's records (PDS first, then the local index)."""

    def __init__(self, av: AppView, sessions: PdsSessions) -> None:
        self.av = av
        self.sessions = sessions
        self._turns: dict[str, asyncio.Lock] = {}

    def turn(self, did: str) -> asyncio.Lock:
        """The member's write lock: an action checks what exists and writes under it.

        A double click or a client's retry sends the same like twice at once; without the lock both
        see "not liked yet" and two like records reach the PDS. (One gateway process per host: a
        second process on the same database would need the check in PostgreSQL.)
        """
        return self._turns.setdefault(did, asyncio.Lock())

    def check(self, collection: str, record: Any) -> Any:
        """The record normalised by its lexicon, or 400 naming what is wrong."""
        if collection not in COLLECTIONS:
            raise ApiError(400, "unsupported_collection", f"Records of {collection!r} are not accepted here.")
        if isinstance(record, dict) and "$type" not in record:
            record = {"$type": collection, **record}
        if collection == POST and isinstance(record, dict) and record.get("embed") is not None:
            check_embed(record["embed"])
        try:
            return parse_record(collection, record)
        except Malformed as exc:
            raise ApiError(400, "invalid_record", f"The record does not match {collection}: {exc}") from None

    async def create(
        self,
        did: str,
        collection: str,
        record: dict[str, Any],
        rkey: str | None = None,
        conditions: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Write ``record`` to the member's repository and index it; returns ``{uri, cid}`` and, when
        the PDS gives them, ``commit`` and ``validationStatus``.

        ``conditions`` are createRecord's other inputs (``swapCommit``, ``validate``), for the PDS.
        """
        record = {"$type": collection, **record}
        parsed = self.check(collection, record)
        body: dict[str, Any] = {**(conditions or {}), "repo": did, "collection": collection, "record": record}
        if rkey is not None:
            body["rkey"] = rkey
        result = await self.sessions.call(did, "com.atproto.repo.createRecord", body)
        uri, cid = result.get("uri"), result.get("cid")
        if not isinstance(uri, str) or not isinstance(cid, str):
            raise ApiError(502, "pds_error", "The PDS answered createRecord without a uri and cid.")
        _, _, written_rkey = split_uri(uri)
        op = Op(int(time.time() * 1_000_000), did, COMMIT, collection, written_rkey, "create", cid, parsed,
                rev=commit_rev(result))  # fmt: skip
        await self._apply(op)
        return {"uri": uri, "cid": cid, **_answered(result, "commit", "validationStatus")}

    async def delete(
        self, did: str, collection: str, rkey: str, conditions: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Delete a record from the member's repository and from the index; returns the PDS's ``commit``.

        ``conditions`` are deleteRecord's ``swapRecord`` / ``swapCommit``, for the PDS.
        """
        if collection not in COLLECTIONS:
            raise ApiError(400, "unsupported_collection", f"Records of {collection!r} are not accepted here.")
        body = {**(conditions or {}), "repo": did, "collection": collection, "rkey": rkey}
        result = await self.sessions.call(did, "com.atproto.repo.deleteRecord", body)
        rev = commit_rev(result)
        await self._apply(Op(int(time.time() * 1_000_000), did, COMMIT, collection, rkey, "delete", rev=rev))
        return _answered(result, "commit")

    async def _apply(self, op: Op) -> None:
        fx = Effects(live=True)
        async with acquire(self.av.ctx) as conn, conn.transaction():
            if op.collection == FOLLOW and op.action == "create" and op.record is not None:
                # The first member to follow an account makes it tracked: queue its backfill.
                op.newly_tracked = bool(await conn.fetchval(FIRST_MEMBER_FOLLOW, getattr(op.record, "did", "")))
            await apply_ops(conn, [op], fx, self.av.community)
            await publish(conn, self.av.ctx.bus.channel, fx)
        pusher = self.av.services.get("push")
        if pusher is not None and fx.notices:
            pusher.notify(fx.notices)
