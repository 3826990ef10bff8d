"""The /feed Socket.IO namespace: connections end with their token, and a refused one leaves nothing."""

from __future__ import annotations

import contextlib
from typing import Any

import asyncpg
import socketio

from tests.support.waiting import wait_for
from tests.tenants.feed.api.fixtures import FeedServer, MemberFactory


def hub_of(server: FeedServer) -> Any:
    return server.ctx.state["feed_api"].hub


async def test_a_socketio_peer_is_disconnected_when_its_token_expires(
    feed_server: FeedServer, member: MemberFactory, feed_db: asyncpg.Connection
) -> None:
    # /feed/ws closes such a session (4401); the Socket.IO peer kept receiving notifications.
    alice = await member("alice")
    short = feed_server.ctx.tokens.issue_access(alice.did, ttl=1)
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(feed_server.url, namespaces=["/feed"], auth={"token": short}, transports=["websocket"],
                         wait_timeout=5)  # fmt: skip
    try:
        await wait_for(lambda: not client.connected, timeout=10)
        await wait_for(lambda: not [p for p in hub_of(feed_server).peers if p.did == alice.did], timeout=10)
    finally:
        await client.disconnect()


async def test_a_socketio_connect_that_fails_on_a_busy_database_leaves_nothing_behind(
    feed_server: FeedServer, member: MemberFactory, feed_db: asyncpg.Connection
) -> None:
    alice = await member("alice")
    ctx = feed_server.ctx
    hub = hub_of(feed_server)
    sio = feed_server.app.state.socketio
    known = set(hub.peers)
    participants = sum(1 for _ in sio.manager.get_participants("/feed", None))
    client = socketio.AsyncClient(reconnection=False)
    async with contextlib.AsyncExitStack() as held:
        for _ in range(ctx.db.raw_size):  # every raw connection busy: hub.sign_in answers 503 after 3 s
            await held.enter_async_context(ctx.db.raw())
        with contextlib.suppress(socketio.exceptions.ConnectionError):
            await client.connect(feed_server.url, namespaces=["/feed"], auth={"token": alice.token},
                                 transports=["websocket"], wait_timeout=5)  # fmt: skip
    before = {sid for sid, _ in sio.manager.get_participants("/feed", None)}
    await client.disconnect()

    def remains() -> tuple[int, int]:
        return len(hub.peers - known), sum(1 for _ in sio.manager.get_participants("/feed", None)) - participants

    try:
        await wait_for(lambda: remains() == (0, 0), timeout=10)  # the refused connection left nothing
    finally:
        leaked = hub.peers - known  # don't let the leak break later tests of the session's server
        for peer in leaked:
            hub.detach(peer)
        for sid in before & {sid for sid, _ in sio.manager.get_participants("/feed", None)}:
            sio.manager.basic_disconnect(sid, "/feed")
