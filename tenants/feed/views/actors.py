"""Accounts: resolving an actor (handle or DID), profile views, follower and follow lists."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from tenants.feed.cursor import Cursors
from tenants.feed.views.pages import KEY, NO_CURSOR, Page
from tenants.feed.views.present import active

BY_DID = "SELECT did, account_status FROM profiles WHERE did = $1"
BY_HANDLE = "SELECT did, account_status FROM profiles WHERE lower(handle) = lower($1) ORDER BY updated_at DESC LIMIT 1"
PROFILES = """
SELECT coalesce(jsonb_agg(feed_profile(p.did, $1, $3) ORDER BY array_position($2::text[], p.did)), '[]')::text
FROM profiles p WHERE p.did = ANY($2::text[])
"""
GRAPH = {
    # Accounts following $5, newest follow first.
    "followers": """
        SELECT f.created_at, f.uri, f.author_did FROM follows f
        WHERE f.subject_did = $5 AND (f.created_at, f.uri) < {key} ORDER BY f.created_at DESC, f.uri DESC LIMIT $4""",
    # Accounts $5 follows, newest follow first.
    "follows": """
        SELECT f.created_at, f.uri, f.subject_did FROM follows f
        WHERE f.author_did = $5 AND (f.created_at, f.uri) < {key} ORDER BY f.created_at DESC, f.uri DESC LIMIT $4""",
}
# Accounts blocked either way and inactive ones are left out of the lists.
GRAPH_PAGE = f"""
WITH skeleton (k_at, k_uri, did) AS ({{skeleton}})
SELECT (SELECT coalesce(jsonb_agg(feed_profile(s.did, $1, 1) ORDER BY s.k_at DESC, s.k_uri DESC), '[]')::text
        FROM skeleton s WHERE NOT feed_blocked($1, s.did) AND {active("s.did")}) AS items,
       (SELECT count(*) FROM skeleton) AS n,
       (SELECT array[k_at::text, k_uri] FROM skeleton ORDER BY k_at, k_uri LIMIT 1) AS last
"""


def looks_like_actor(actor: str) -> bool:
    """A DID or something shaped like a handle (domain name)."""
    if actor.startswith("did:"):
        return 8 < len(actor) <= 2048
    labels = actor.split(".")
    return 3 <= len(actor) <= 253 and len(labels) >= 2 and all(0 < len(label) <= 63 for label in labels)


@dataclass(frozen=True)
class Account:
    """A stored account and its status (None when active; else takendown, suspended, deactivated or deleted)."""

    did: str
    status: str | None


async def lookup(conn: asyncpg.Connection, actor: str) -> Account | None:
    """The stored account named by DID or handle, whatever its status."""
    if not looks_like_actor(actor):
        return None
    row = await conn.fetchrow(BY_DID if actor.startswith("did:") else BY_HANDLE, actor.removeprefix("@"))
    return None if row is None else Account(row["did"], row["account_status"])


async def resolve(conn: asyncpg.Connection, actor: str) -> str | None:
    """The DID of a stored, active account named by DID or handle (an inactive one is not found)."""
    account = await lookup(conn, actor)
    return account.did if account is not None and account.status is None else None


async def by_did(conn: asyncpg.Connection, uri: str) -> str | None:
    """``uri`` with its repository named by DID: a handle (an at-uri may name one) is looked up among
    stored accounts, as the AppView's ``resolveUri`` does; None when no stored account has it."""
    authority, _, path = uri.removeprefix("at://").partition("/")
    if authority.startswith("did:"):
        return uri
    account = await lookup(conn, authority)
    return None if account is None else f"at://{account.did}/{path}"


async def profiles(conn: asyncpg.Connection, dids: list[str], viewer: str | None, level: int = 2) -> str:
    """Profile views (``level`` 0 basic, 1 profileView, 2 detailed) of stored accounts, in order."""
    return str(await conn.fetchval(PROFILES, viewer, dids, level))


async def graph(
    conn: asyncpg.Connection, cursors: Cursors, kind: str, did: str, viewer: str | None, limit: int, cursor: str | None
) -> Page:
    """``followers`` or ``follows`` of ``did`` as profileViews, newest follow first."""
    key = cursors.decode(cursor, str, str) or NO_CURSOR
    sql = GRAPH_PAGE.format(skeleton=GRAPH[kind].format(key=KEY))
    row = await conn.fetchrow(sql, viewer, key[0], key[1], limit, did)
    assert row is not None
    return Page(row["items"], cursors.encode(*row["last"]) if row["n"] == limit and row["last"] else None)
