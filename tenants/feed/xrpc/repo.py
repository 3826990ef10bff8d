"""What the proxied repo procedures share: the caller's own ``repo``, and the conditions the PDS
checks (``swapCommit``, ``swapRecord``, ``validate``). The PDS's refusals keep their XRPC names
(``InvalidSwap``) by way of ``tenants.feed.sessions.upstream_error``."""

from __future__ import annotations

from typing import Any

from tenants.feed.db import acquire
from tenants.feed.params import CID
from tenants.feed.xrpc.base import Call, XrpcError, invalid


async def own_repo(call: Call, viewer: str, repo: Any) -> None:
    """400 unless ``repo`` names the caller (DID or handle); 403 for someone else's repository."""
    if not isinstance(repo, str) or not repo:
        raise invalid("repo is required")
    if repo == viewer:
        return
    async with acquire(call.av.ctx) as conn:
        handle = await conn.fetchval("SELECT handle FROM members WHERE did = $1", viewer)
    if repo != handle:
        raise XrpcError(403, "Forbidden", "Records can only be written to your own repository.")


def conditions(body: dict[str, Any], swaps: tuple[str, ...], validate: bool = False) -> dict[str, Any]:
    """The inputs the PDS checks, as given: ``swaps`` (CIDs) and ``validate``."""
    kept: dict[str, Any] = {}
    for name in swaps:
        if name not in body:
            continue
        value = body[name]
        if not isinstance(value, str) or not CID.match(value):
            raise invalid(f"{name} must be a CID")
        kept[name] = value
    if validate and "validate" in body:
        if not isinstance(body["validate"], bool):
            raise invalid("validate must be a boolean")
        kept["validate"] = body["validate"]
    return kept
