"""Members' PDS sessions: stored sealed, refreshed when they expire, used to proxy writes.

The PDS rotates its refresh token on every refresh, so two concurrent refreshes of one account
would leave one of them holding a spent token; a lock per account makes them take turns.
A member's session is kept while any of their sign-ins here can refresh: signing out of the
last one forgets it and ends it at the PDS, as a Bluesky app signing out does, so the server no
longer holds a way to write to a repository nobody here is signed in to.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any

from starlette.background import BackgroundTask

from shared.auth.bluesky import BlueskyError, PdsSession, jwt_expiry
from shared.auth.refresh import LIVE_SIGN_IN
from shared.errors import ApiError
from tenants.feed.appview import AppView
from tenants.feed.db import acquire

log = logging.getLogger("onebox.feed.sessions")

REFRESH_MARGIN_S = 60
EXPIRED = {"ExpiredToken", "InvalidToken"}

SAVE = """
INSERT INTO pds_sessions (did, pds_url, handle, access_jwt, refresh_jwt, updated_at)
VALUES ($1, $2, $3, $4, $5, now())
ON CONFLICT (did) DO UPDATE SET pds_url = EXCLUDED.pds_url, handle = EXCLUDED.handle,
    access_jwt = EXCLUDED.access_jwt, refresh_jwt = EXCLUDED.refresh_jwt, updated_at = now()
"""

# A refreshed session replaces the stored one only if that is still there: one forgotten
# meanwhile (the last sign-out, or the membership's end, maybe in another process) stays gone.
REPLACE = """
UPDATE pds_sessions SET access_jwt = $2, refresh_jwt = $3, updated_at = now() WHERE did = $1
"""

# The session of a member with no sign-in left (REST and XRPC sign-ins share refresh_tokens).
FORGET = f"""
DELETE FROM pds_sessions s WHERE s.did = $1 AND NOT {LIVE_SIGN_IN.format(subject="s.did")}
RETURNING pds_url, handle, refresh_jwt
"""


def session_missing() -> ApiError:
    """The answer when no PDS session is stored for the account (401: sign in again)."""
    return ApiError(401, "pds_session_missing", "No Bluesky session is stored for this account; sign in again.")


# An XRPC error name as the lexicons spell them (InvalidSwap, RecordNotFound, ...).
NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{0,63}")


def upstream_error(exc: BlueskyError) -> ApiError:
    """A PDS refusal or outage as our API's error (502 for outages, the PDS's status otherwise)."""
    if exc.status == 502:
        return ApiError(502, "pds_unreachable", f"The member's PDS could not be reached: {exc.message}")
    status = exc.status if exc.status in (400, 401, 403, 404, 409, 413, 429) else 502
    # A refusal of the request itself keeps the PDS's name under XRPC (InvalidSwap is one a client
    # acts on); its 401s stay ours: an ExpiredToken of the PDS session is not the client's expiring.
    name = exc.error if status == 400 and exc.error and NAME.fullmatch(exc.error) else None
    return ApiError(
        status, "pds_error", f"The PDS refused the request: {exc.message}", details={"error": exc.error}, xrpc_name=name
    )


class PdsSessions:
    """Load, store, refresh and use members' PDS sessions."""

    def __init__(self, av: AppView) -> None:
        self.av = av
        self._locks: dict[str, asyncio.Lock] = {}
        self._ending: set[asyncio.Task[None]] = set()

    async def save(self, conn: Any, session: PdsSession) -> None:
        """Store ``session`` sealed, in the caller's transaction (an asyncpg connection)."""
        box = self.av.box
        await conn.execute(
            SAVE,
            session.did,
            session.pds_url,
            session.handle,
            box.seal(session.access_jwt, session.did),
            box.seal(session.refresh_jwt, session.did),
        )

    async def load(self, did: str) -> PdsSession:
        """The stored session of ``did``; 401 when there is none (sign in again)."""
        async with acquire(self.av.ctx) as conn:
            row = await conn.fetchrow(
                "SELECT pds_url, handle, access_jwt, refresh_jwt FROM pds_sessions WHERE did = $1", did
            )
        if row is None:
            raise session_missing()
        try:
            access = self.av.box.open(row["access_jwt"], did)
            refresh = self.av.box.open(row["refresh_jwt"], did)
        except ValueError:
            raise ApiError(
                401, "pds_session_invalid", "The stored Bluesky session is unreadable; sign in again."
            ) from None
        return PdsSession(did, row["handle"], row["pds_url"], access, refresh)

    async def end_if_last(self, did: str) -> PdsSession | None:
        """Forget ``did``'s PDS session if none of its sign-ins is left (call after revoking one);
        returns it, to be ended at the PDS (:meth:`end_at_pds_task`), or None when it stays."""
        # The account's lock: a refresh in flight in this process finishes first, so the token
        # ended at the PDS is the current one (a refresh elsewhere ends its own, see _refresh).
        async with self._locks.setdefault(did, asyncio.Lock()), acquire(self.av.ctx) as conn, conn.transaction():
            # A sign-in holds the member row until its refresh family commits with its session:
            # waiting for it here means the check below counts that sign-in.
            await conn.execute("SELECT 1 FROM members WHERE did = $1 FOR UPDATE", did)
            row = await conn.fetchrow(FORGET, did)
        if row is None:
            return None
        try:
            refresh = self.av.box.open(row["refresh_jwt"], did)
        except ValueError:
            return None  # unreadable (another secret): nothing to end it with, and it is gone here
        return PdsSession(did, row["handle"], row["pds_url"], "", refresh)

    def end_at_pds_task(self, session: PdsSession | None) -> BackgroundTask | None:
        """A task ending ``session`` at its PDS after the answer is sent (None: nothing to end)."""
        return BackgroundTask(self._end_at_pds, session) if session is not None else None

    async def end_at_pds(self, session: PdsSession) -> None:
        """End ``session`` at its PDS now (failures are logged); it finishes even if the caller
        is cancelled meanwhile, as when a sign-in is abandoned."""
        task = asyncio.create_task(self._end_at_pds(session))
        self._ending.add(task)
        task.add_done_callback(self._ending.discard)
        await asyncio.shield(task)

    async def _end_at_pds(self, session: PdsSession) -> None:
        try:
            await self.av.bluesky.delete_session(session)
        except BlueskyError as exc:  # refused or unreachable
            # Forgotten here either way; the PDS lets the session lapse unused.
            log.warning("ending the PDS session of %s failed: %s", session.did, exc.message)

    async def _refresh(self, stale: PdsSession) -> PdsSession:
        try:
            fresh = await self.av.bluesky.refresh_session(stale)
        except BlueskyError as exc:
            if exc.status == 502:
                raise upstream_error(exc) from None
            raise ApiError(401, "pds_session_expired", "The Bluesky session has expired; sign in again.") from None
        box = self.av.box
        async with acquire(self.av.ctx) as conn:
            status = await conn.execute(
                REPLACE, fresh.did, box.seal(fresh.access_jwt, fresh.did), box.seal(fresh.refresh_jwt, fresh.did)
            )
        if status == "UPDATE 0":
            await self.end_at_pds(fresh)  # nobody here is signed in to hold it
            raise session_missing()
        return fresh

    async def call(self, did: str, nsid: str, body: dict[str, Any]) -> Any:
        """Call a procedure on ``did``'s PDS, refreshing the session first or once on ExpiredToken."""
        lock = self._locks.setdefault(did, asyncio.Lock())
        async with lock:
            session = await self.load(did)
            expiry = jwt_expiry(session.access_jwt)
            if expiry is not None and expiry - time.time() < REFRESH_MARGIN_S:
                session = await self._refresh(session)
            try:
                return await self.av.bluesky.procedure(session, nsid, body)
            except BlueskyError as exc:
                if exc.error not in EXPIRED:
                    raise upstream_error(exc) from None
            session = await self._refresh(session)
            try:
                return await self.av.bluesky.procedure(session, nsid, body)
            except BlueskyError as exc:
                raise upstream_error(exc) from None
