"""The gateway's Socket.IO server: token sign-in per tenant namespace, rooms by visibility, events from the bus.

Real python-socketio clients against uvicorn on loopback. The two-process case runs a second,
separately built app on its own port in the same event loop: its own pools and its own LISTEN
connection, sharing only PostgreSQL — the path a second `onebox serve` process would take.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson
import pytest
import socketio
import sqlalchemy as sa
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.context import signing_key
from shared.auth import sockets
from shared.auth.tokens import TokenService
from shared.settings import Settings
from shared.tenant import TenantContext
from tests.conftest import SECRET
from tests.support.server import serve
from tests.support.waiting import wait_for

NS = "/seacalendar"
API = "/seacalendar/api"


class Listener:
    """A connected client and the events it has received."""

    def __init__(self, client: socketio.AsyncClient) -> None:
        self.client = client
        self.events: list[tuple[str, Any]] = []

    async def join(self, room: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self.client.call("join", {"room": room}, namespace=NS, timeout=5)
        return answer


@pytest.fixture
async def connect() -> AsyncIterator[Callable[..., Any]]:
    """Connect clients; all are disconnected at the end of the test."""
    clients: list[socketio.AsyncClient] = []

    async def open_client(url: str, auth: Any = None, transports: list[str] | None = None) -> Listener:
        client = socketio.AsyncClient(reconnection=False)
        clients.append(client)
        listener = Listener(client)
        for name in ("vote_updated", "poll_finalized"):
            client.on(name, lambda data, name=name: listener.events.append((name, data)), namespace=NS)
        await client.connect(url, auth=auth, namespaces=[NS], transports=transports or ["websocket"], wait_timeout=5)
        return listener

    yield open_client
    for client in clients:
        await client.disconnect()


async def member(ctx: TenantContext, name: str) -> tuple[int, str]:
    """A user row and an access token for it."""
    async with ctx.db.transaction() as conn:
        user_id = (
            await conn.execute(sa.text("INSERT INTO users (display_name) VALUES (:n) RETURNING id"), {"n": name})
        ).scalar_one()
    return user_id, ctx.tokens.issue_access(str(user_id))


async def open_poll(client: httpx.AsyncClient, token: str, private: bool = False) -> dict[str, Any]:
    body = {"title": "Board games", "options": [{"label": "Sat"}, {"label": "Sun"}], "type": "generic"}
    answer = await client.post(
        f"{API}/polls", json={**body, "is_private": private}, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 201, answer.text
    poll: dict[str, Any] = answer.json()
    return poll


async def test_a_vote_reaches_every_client_in_the_room(
    server: str, client: httpx.AsyncClient, tenant_ctx: Callable[[str], TenantContext], connect: Any
) -> None:
    ctx = tenant_ctx("seacalendar")
    await ctx.bus.wait_listening()
    _, ann = await member(ctx, "Ann")
    _, bob = await member(ctx, "Bob")
    poll = await open_poll(client, ann)
    first = await connect(server, {"token": ann})
    second = await connect(server, {"token": bob})
    assert await first.join(f"poll:{poll['id']}") == {"ok": True, "room": f"poll:{poll['id']}"}
    assert (await second.join(f"poll:{poll['id']}"))["ok"] is True
    option = poll["options"][0]["id"]
    answer = await client.post(
        f"{API}/polls/{poll['id']}/vote", json={"available": [option]}, headers={"Authorization": f"Bearer {bob}"}
    )
    assert answer.status_code == 200
    for listener in (first, second):
        await wait_for(lambda listener=listener: listener.events, timeout=5)
        name, data = listener.events[0]
        assert name == "vote_updated" and data["poll_id"] == poll["id"]
        assert data["tally"]["options"][0] == {"option_id": option, "available": 1, "maybe": 0}
    metrics = (await client.get("/metrics")).text
    assert 'onebox_socketio_connections{tenant="seacalendar"} 2.0' in metrics
    health = (await client.get("/seacalendar/health")).json()
    assert health["socketio"]["connections"] == 2


async def test_connections_without_a_valid_token_are_refused(server: str, connect: Any) -> None:
    foreign = TokenService(signing_key(SECRET, "wishlist"), "wishlist").issue_access("1")
    for auth in (None, {}, {"token": ""}, {"token": "garbage"}, {"token": foreign}):
        with pytest.raises(socketio.exceptions.ConnectionError):
            await connect(server, auth)


async def test_rooms_of_polls_one_cannot_see_are_refused(
    server: str, client: httpx.AsyncClient, tenant_ctx: Callable[[str], TenantContext], connect: Any
) -> None:
    ctx = tenant_ctx("seacalendar")
    _, ann = await member(ctx, "Ann")
    _, eve = await member(ctx, "Eve")
    private = await open_poll(client, ann, private=True)
    spy = await connect(server, {"token": eve})
    for room in (f"poll:{private['id']}", "poll:999999999", "poll:x", "user:1", "poll:99999999999999999999"):
        assert (await spy.join(room))["ok"] is False
    assert (await spy.client.call("join", "not a dict", namespace=NS, timeout=5))["error"] == "validation_error"
    # Events of that poll never reach the refused client.
    owner = await connect(server, {"token": ann})
    assert (await owner.join(f"poll:{private['id']}"))["ok"] is True
    option = private["options"][0]["id"]
    await client.post(
        f"{API}/polls/{private['id']}/vote", json={"available": [option]}, headers={"Authorization": f"Bearer {ann}"}
    )
    await wait_for(lambda: owner.events, timeout=5)
    assert spy.events == []


@pytest.fixture
async def second_gateway(settings: Settings) -> AsyncIterator[tuple[Starlette, str]]:
    """Another gateway process's worth of app: its own pools and bus listener, same database."""
    other = create_app(settings)
    async with serve(other) as url:
        yield other, url


async def test_one_connection_is_in_a_bounded_number_of_rooms(
    server: str,
    client: httpx.AsyncClient,
    tenant_ctx: Callable[[str], TenantContext],
    connect: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sockets, "MAX_ROOMS", 2)  # the same rule, reached with fewer polls
    _, ann = await member(tenant_ctx("seacalendar"), "Ann")
    first, second, third = [f"poll:{(await open_poll(client, ann))['id']}" for _ in range(3)]
    listener = await connect(server, {"token": ann})
    assert (await listener.join(first))["ok"] and (await listener.join(second))["ok"]
    full = await listener.join(third)
    assert full["ok"] is False and full["error"] == "too_many_rooms"
    assert (await listener.join(first))["ok"] is True  # being in it already takes no room
    await listener.client.call("leave", {"room": first}, namespace=NS, timeout=5)
    assert (await listener.join(third))["ok"] is True


async def test_a_vote_through_one_gateway_reaches_a_client_of_another(
    client: httpx.AsyncClient,
    tenant_ctx: Callable[[str], TenantContext],
    second_gateway: tuple[Starlette, str],
    connect: Any,
) -> None:
    other, other_url = second_gateway
    await other.state.contexts["seacalendar"].bus.wait_listening()
    ctx = tenant_ctx("seacalendar")
    _, ann = await member(ctx, "Ann")
    poll = await open_poll(client, ann)
    remote = await connect(other_url, {"token": ann})
    assert (await remote.join(f"poll:{poll['id']}"))["ok"] is True
    option = poll["options"][1]["id"]
    await client.post(
        f"{API}/polls/{poll['id']}/vote", json={"maybe": [option]}, headers={"Authorization": f"Bearer {ann}"}
    )
    await wait_for(lambda: remote.events, timeout=5)
    assert remote.events[0][1]["tally"]["options"][1]["maybe"] == 1
    await client.post(
        f"{API}/polls/{poll['id']}/finalize", json={"option_id": option}, headers={"Authorization": f"Bearer {ann}"}
    )
    await wait_for(lambda: any(name == "poll_finalized" for name, _ in remote.events), timeout=5)


async def test_long_polling_handshake_goes_through_the_mount(client: httpx.AsyncClient) -> None:
    opened = await client.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
    assert opened.status_code == 200 and opened.text.startswith("0{")
    sid = orjson.loads(opened.text[1:])["sid"]
    # Engine.IO close packet, so the server drops the session now rather than at its ping timeout.
    closed = await client.post("/socket.io/", params={"EIO": "4", "transport": "polling", "sid": sid}, content=b"1")
    assert closed.status_code == 200


async def test_a_member_who_may_no_longer_see_a_poll_leaves_its_room(
    server: str, client: httpx.AsyncClient, tenant_ctx: Callable[[str], TenantContext], connect: Any
) -> None:
    ctx = tenant_ctx("seacalendar")
    await ctx.bus.wait_listening()
    _, ann = await member(ctx, "Ann")
    _, eve = await member(ctx, "Eve")
    poll = await open_poll(client, ann)  # public for now
    spy, owner = await connect(server, {"token": eve}), await connect(server, {"token": ann})
    for listener in (spy, owner):
        assert (await listener.join(f"poll:{poll['id']}"))["ok"] is True
    # Ann makes the poll private; Eve is no invitee, so she may no longer see it (nor its tallies).
    made = await client.put(
        f"{API}/polls/{poll['id']}", json={"is_private": True}, headers={"Authorization": f"Bearer {ann}"}
    )
    assert made.status_code == 200, made.text
    voted = await client.post(
        f"{API}/polls/{poll['id']}/vote",
        json={"available": [poll["options"][0]["id"]]},
        headers={"Authorization": f"Bearer {ann}"},
    )
    assert voted.status_code == 200
    await wait_for(lambda: owner.events, timeout=5)
    # Both events went to the room in order; Eve had left it before the first.
    await spy.client.call("leave", {"room": "poll:0"}, namespace=NS, timeout=5)  # a round trip after them
    assert spy.events == []


async def test_a_connection_is_closed_when_its_token_expires(
    server: str, tenant_ctx: Callable[[str], TenantContext], connect: Any
) -> None:
    ctx = tenant_ctx("seacalendar")
    eve_id, _ = await member(ctx, "Eve")
    short = ctx.tokens.issue_access(str(eve_id), ttl=1)
    spy = await connect(server, {"token": short})
    await wait_for(lambda: not spy.client.connected, timeout=10)


async def test_the_default_namespace_takes_no_connections(server: str) -> None:
    # Only the tenants' namespaces, where a token is required: "/" would take anyone, unseen.
    bare = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await bare.connect(server, namespaces=["/"], transports=["websocket"], wait_timeout=5)
    await bare.disconnect()
