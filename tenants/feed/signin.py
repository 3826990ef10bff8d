"""Signing in with a Bluesky handle (or DID) and an app password: the account becomes a member.

The membership row is what the indexer polls: it then marks the profile, queues the member's
backfill (posts, likes, reposts, follows, blocks) and starts tracking the accounts they follow.
The sign-in's refresh family commits with the member row and the PDS session: a sign-out ending
the member's last sign-in meanwhile (``PdsSessions.end_if_last``) counts it or comes first.
A sign-in refused or failing after the PDS issued its session ends that session there.
"""

from __future__ import annotations

from shared.auth.bluesky import BlueskyError, PdsSession, PdsUnreachable
from shared.auth.refresh import RefreshTokens
from shared.db.pool import driver
from shared.errors import ApiError
from tenants.feed.appview import AppView
from tenants.feed.sessions import PdsSessions

MEMBER = """
INSERT INTO members (did, handle, pds_url, last_seen_at) VALUES ($1, $2, $3, now())
ON CONFLICT (did) DO UPDATE SET handle = EXCLUDED.handle, pds_url = EXCLUDED.pds_url, last_seen_at = now()
"""
# PDS refusals a client acts on (asks for the emailed code; says the account is taken down), kept
# under the PDS's own name: in the error's details, and as the XRPC error name.
NAMED_REFUSALS = frozenset({"AuthFactorTokenRequired", "AccountTakedown"})
PROFILE = """
INSERT INTO profiles (did, handle, pds_url) VALUES ($1, $2, $3)
ON CONFLICT (did) DO UPDATE SET handle = EXCLUDED.handle, pds_url = EXCLUDED.pds_url
"""


async def sign_in(
    av: AppView,
    sessions: PdsSessions,
    identifier: str,
    password: str,
    refresh: RefreshTokens,
    auth_factor_token: str | None = None,
) -> tuple[PdsSession, str]:
    """Check the app password at the account's PDS, store its session and make it a member;
    returns the PDS session and a new refresh token of ``refresh`` (REST's or XRPC's store)."""
    # One bucket per account however it is spelt: "@alice.test" is "alice.test".
    key = identifier.strip().lower().removeprefix("@")
    av.ctx.login_limiter.hit(key, "Too many sign-in attempts for this account; wait a while.")
    try:
        session = await av.bluesky.create_session(identifier.strip(), password, auth_factor_token)
    except PdsUnreachable as exc:
        raise ApiError(502, "pds_unreachable", f"Could not sign in: {exc.message}") from None
    except BlueskyError as exc:
        named = exc.error if exc.error in NAMED_REFUSALS else None
        details = {"error": named} if named else None
        raise ApiError(401, "invalid_credentials", exc.message, details=details, xrpc_name=named) from None
    try:
        _admit(session)
        async with av.ctx.db.transaction() as conn:
            token = await refresh.issue(conn, session.did)  # first: it begins the transaction the driver joins
            db = await driver(conn)
            await db.execute(MEMBER, session.did, session.handle, session.pds_url)
            await db.execute(PROFILE, session.did, session.handle, session.pds_url)
            await sessions.save(db, session)
    except BaseException:
        # Refused or failed here: nobody will hold the session the PDS just issued.
        await sessions.end_at_pds(session)
        raise
    av.ctx.login_limiter.reset(key)
    return session, token


def _admit(session: PdsSession) -> None:
    """403 for an account its PDS reports inactive."""
    if not session.active:
        # Its PDS serves neither its records nor its writes until it is reactivated there: as a
        # member it would get a backfill that fails and writes that are refused.
        raise ApiError(
            403,
            "account_inactive",
            f"This Bluesky account is {session.status or 'deactivated'}; "
            "reactivate it in a Bluesky app, then sign in again.",
            details={"status": session.status or "deactivated"},
        )
