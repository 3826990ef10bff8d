"""The ``/feed`` Socket.IO namespace: the same frames as ``/feed/ws``, on the gateway's one server.

Clients connect with ``auth={"token": <access token>}``; each becomes a hub peer, so what it
receives follows the same audience rules. No rooms can be joined: the gateway's raw relay of
bus events therefore reaches nobody here, and every frame is the hydrated one.
"""

from __future__ import annotations

from typing import Any

from shared.auth.sockets import Expiries, claims_from_auth
from shared.errors import ApiError
from tenants.feed.appview import REFRESH_SCOPE, AppView
from tenants.feed.live.hub import Hub
from tenants.feed.live.peer import Frame, Peer

NAMESPACE = "/feed"


def register(av: AppView, hub: Hub, sio: Any) -> None:
    """Connect and disconnect handlers of the namespace."""
    from socketio.exceptions import ConnectionRefusedError

    peers: dict[str, Peer] = {}
    expiries = Expiries(sio, NAMESPACE)  # closed when the token expires, as /feed/ws sessions are

    async def connect(sid: str, _environ: dict[str, Any], auth: Any = None) -> None:
        claims = claims_from_auth(av.ctx.tokens, auth)
        if claims.extra.get("scope") == REFRESH_SCOPE:
            raise ConnectionRefusedError("A refresh token cannot be used here.", {"code": "unauthorized"})

        async def deliver(out: Frame) -> None:
            await sio.emit(out[0], out[1], to=sid, namespace=NAMESPACE)

        async def overflow() -> None:
            await sio.disconnect(sid, namespace=NAMESPACE)

        peer = Peer(deliver, overflow, av.api.feed_ws_queue)
        try:
            await hub.sign_in(peer, claims.subject, claims.expires_at)
        except ApiError as exc:
            # Refused, python-socketio forgets the connection; any other error would leave it
            # half-connected for good (its disconnect handler never runs).
            raise ConnectionRefusedError(exc.message, {"code": exc.code}) from None
        peers[sid] = peer
        hub.attach(peer)
        expiries.watch(sid, claims)
        peer.start()

    async def disconnect(sid: str, *_args: Any) -> None:
        expiries.forget(sid)
        peer = peers.pop(sid, None)
        if peer is not None:
            hub.detach(peer)
            await peer.stop()

    sio.on("connect", connect, namespace=NAMESPACE)
    sio.on("disconnect", disconnect, namespace=NAMESPACE)
