"""Socket.IO namespaces whose clients sign in with the tenant's access token and join only rooms they may see.

A client connects with ``auth={"token": "<access token>"}``; a missing token, one for another
tenant (audience), an invalid one or one whose account was deleted is refused at connect, and the
connection is closed when the token expires (the client reconnects with a fresh one). Rooms are joined by asking:
``emit("join", {"room": "poll:7"}, callback=...)`` answers ``{"ok": true}`` or
``{"ok": false, "error": "not_found"}`` after the tenant's visibility rule (``can_join``) ran;
:func:`recheck_room` applies the rule again when what it depends on changed, and
:func:`disconnect_subject` closes an account's connections when it is deleted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from shared.auth.tokens import AccessClaims, TokenService
from shared.errors import ApiError

JoinRule = Callable[[AccessClaims, str], Awaitable[bool]]
AccountRule = Callable[[AccessClaims], Awaitable[bool]]
MAX_ROOM = 200
# Rooms one connection may be in at once: a client is in the few its open pages show, and leaves
# them as pages close; each membership is held in memory for as long as the connection lives.
MAX_ROOMS = 100


def _refuse(code: str, message: str) -> Exception:
    from socketio.exceptions import ConnectionRefusedError

    refusal: Exception = ConnectionRefusedError(message, {"code": code})
    return refusal


def claims_from_auth(tokens: TokenService, auth: Any) -> AccessClaims:
    """The claims of the token in a connect ``auth`` payload, or ``ConnectionRefusedError``."""
    token = auth.get("token") if isinstance(auth, dict) else None
    if not isinstance(token, str) or not token:
        raise _refuse("unauthorized", "An access token is required in auth.token.")
    try:
        return tokens.verify(token)
    except ApiError as exc:
        raise _refuse(exc.code, exc.message) from None


def _room_of(data: Any) -> str | None:
    room = data.get("room") if isinstance(data, dict) else None
    if isinstance(room, str) and 0 < len(room) <= MAX_ROOM:
        return room
    return None


class Expiries:
    """Closes each connection of a namespace when its token expires."""

    def __init__(self, sio: Any, namespace: str) -> None:
        self.sio = sio
        self.namespace = namespace
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._closing: set[asyncio.Task[None]] = set()  # the loop holds tasks weakly

    def watch(self, sid: str, claims: AccessClaims) -> None:
        """Close ``sid`` once ``claims`` expire."""
        delay = max(claims.expires_at - time.time(), 0.0)
        self._timers[sid] = asyncio.get_running_loop().call_later(delay, self._close, sid)

    def forget(self, sid: str) -> None:
        """``sid`` disconnected."""
        timer = self._timers.pop(sid, None)
        if timer is not None:
            timer.cancel()

    def _close(self, sid: str) -> None:
        self._timers.pop(sid, None)
        task = asyncio.ensure_future(self.sio.disconnect(sid, namespace=self.namespace))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)


async def recheck_room(sio: Any, namespace: str, room: str, can_join: JoinRule) -> None:
    """Apply the join rule again to everyone in ``room`` (a poll made private, an invitee removed):
    those it now refuses leave the room, before the change's own event reaches it."""
    for sid, _eio_sid in list(sio.manager.get_participants(namespace, room)):
        session = await sio.get_session(sid, namespace=namespace)
        claims = session.get("claims") if isinstance(session, dict) else None
        try:
            allowed = isinstance(claims, AccessClaims) and await can_join(claims, room)
        except ApiError:
            allowed = False  # the rule couldn't run (a busy database): err on the side of leaving
        if not allowed:
            await sio.leave_room(sid, room, namespace=namespace)


async def disconnect_subject(sio: Any, namespace: str, subject: str) -> int:
    """Close every connection of ``namespace`` in this process signed in as ``subject`` (its account
    was deleted: the token would otherwise keep it connected until it expires); returns how many."""
    closed = 0
    for sid, _eio_sid in list(sio.manager.get_participants(namespace, None)):
        try:
            session = await sio.get_session(sid, namespace=namespace)
        except KeyError:  # gone while this loop awaited
            continue
        claims = session.get("claims") if isinstance(session, dict) else None
        if isinstance(claims, AccessClaims) and claims.subject == subject:
            await sio.disconnect(sid, namespace=namespace)
            closed += 1
    return closed


def serve_namespace(sio: Any, tokens: TokenService, can_join: JoinRule, account_exists: AccountRule) -> str:
    """Register connect/join/leave handlers of ``/<audience>`` on ``sio``; returns the namespace.

    ``account_exists`` is asked at connect: a token outlives its account's deletion by minutes.
    """
    namespace = f"/{tokens.audience}"
    expiries = Expiries(sio, namespace)

    async def connect(sid: str, _environ: dict[str, Any], auth: Any = None) -> None:
        claims = claims_from_auth(tokens, auth)
        try:
            exists = await account_exists(claims)
        except ApiError as exc:  # e.g. the database is busy: the client retries its connect
            raise _refuse(exc.code, exc.message) from None
        if not exists:
            raise _refuse("unauthorized", "This account was deleted; sign in again to start afresh.")
        await sio.save_session(sid, {"claims": claims}, namespace=namespace)
        expiries.watch(sid, claims)

    async def disconnect(sid: str, *_args: Any) -> None:
        expiries.forget(sid)

    async def join(sid: str, data: Any = None) -> dict[str, Any]:
        room = _room_of(data)
        if room is None:
            return {"ok": False, "error": "validation_error", "message": "Send {room: string}."}
        session = await sio.get_session(sid, namespace=namespace)
        claims: AccessClaims = session["claims"]
        # The connection outlives its token; joining anew needs a token that is still valid.
        if claims.expires_at <= time.time():
            return {"ok": False, "error": "token_expired", "message": "Reconnect with a fresh access token."}
        rooms = sio.rooms(sid, namespace=namespace)  # its own sid's room included
        if room not in rooms and len(rooms) > MAX_ROOMS:
            message = f"At most {MAX_ROOMS} rooms at once; leave one first."
            return {"ok": False, "error": "too_many_rooms", "message": message}
        try:
            allowed = await can_join(claims, room)
        except ApiError as exc:  # e.g. the database is busy: say so rather than leave the ack unanswered
            return {"ok": False, "error": exc.code, "message": exc.message}
        if not allowed:
            return {"ok": False, "error": "not_found", "message": "No such room."}
        await sio.enter_room(sid, room, namespace=namespace)
        return {"ok": True, "room": room}

    async def leave(sid: str, data: Any = None) -> dict[str, Any]:
        room = _room_of(data)
        if room is None:
            return {"ok": False, "error": "validation_error", "message": "Send {room: string}."}
        await sio.leave_room(sid, room, namespace=namespace)
        return {"ok": True, "room": room}

    sio.on("connect", connect, namespace=namespace)
    sio.on("disconnect", disconnect, namespace=namespace)
    sio.on("join", join, namespace=namespace)
    sio.on("leave", leave, namespace=namespace)
    return namespace


def connection_count(sio: Any, tenant: str) -> int:
    """Clients connected to ``/<tenant>`` in this process."""
    return sum(1 for _ in sio.manager.get_participants(f"/{tenant}", None))
