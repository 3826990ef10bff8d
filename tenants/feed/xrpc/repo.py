"""What the proxied repo procedures share: the caller's own ``repo``, the conditions the PDS
checks (``swapCommit``, ``swapRecord``, ``validate``), and the PDS's refusals under its own names."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from shared.errors import ApiError
from tenants.feed.db import acquire
from tenants.feed.params import CID
from tenants.feed.xrpc.base import Call, XrpcError, invalid

# A PDS error name as the lexicons spell them (InvalidSwap, InvalidRequest, RecordNotFound, ...).
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


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


@asynccontextmanager
async def pds_names() -> AsyncIterator[None]:
    """Answer a PDS's refusal of the request (400) under its own name: ``InvalidSwap`` is one a client acts on.

    Its 401s stay ours: an ``ExpiredToken`` of the PDS session is not the client's token expiring.
    """
    try:
        yield
    except ApiError as exc:
        refused = exc.code == "pds_error" and exc.status == 400 and isinstance(exc.details, dict)
        name = exc.details.get("error") if refused and isinstance(exc.details, dict) else None
        if isinstance(name, str) and 0 < len(name) <= 64 and set(name) <= _NAME_CHARS:
            raise XrpcError(exc.status, name, exc.message) from None
        raise
