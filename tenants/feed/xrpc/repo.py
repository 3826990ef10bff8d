"""What the proxied repo procedures share: the ``repo`` must be the caller's own."""

from __future__ import annotations

from typing import Any

from tenants.feed.db import acquire
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
