"""The mixed load of bench/memory.py: HTTP on every tenant, Socket.IO clients, a Jetstream replay, reminders.

Socket.IO clients speak Engine.IO v4 over a bare WebSocket (connect, namespace sign-in with an
access token, answer pings) so that 500 of them cost the bench process little.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from tests.fakes.firehose import Firehose, realistic
from tests.fakes.jetstream import FakeJetstream


@dataclass
class Stats:
    """What the load did, and what went wrong (errors are 5xx, 429, timeouts and dropped sockets)."""

    requests: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    # The first few error answers in full: a 503 from /health says which tenant check failed.
    samples: list[str] = field(default_factory=list)
    sockets: int = 0
    peak_sockets: int = 0
    refused: int = 0
    dropped: int = 0
    socket_messages: int = 0
    events: int = 0
    reminders: int = 0
    discord_messages: int = 0

    def error_count(self) -> int:
        return sum(self.errors.values()) + self.refused + self.dropped


def http_targets(urls: dict[str, str]) -> list[str]:
    """Every tenant's health (database round trips), OpenAPI document and web UI, plus the box's /health."""
    paths = [f"{base}/{name}/{page}" for name, base in urls.items() for page in ("health", "openapi.json", "")]
    return paths + [f"{base}/health" for base in sorted(set(urls.values()))]


# Paced HTTP workers (so connections, and requests in flight at most) under the whole load.
CONCURRENCY = 16


async def http_load(
    urls: dict[str, str], rps: float, stop: asyncio.Event, stats: Stats, concurrency: int = CONCURRENCY
) -> None:
    """GET the targets round-robin at about ``rps`` requests per second from ``concurrency`` paced workers
    (they keep in step, so requests come in bursts of ``concurrency``)."""
    targets = itertools.cycle(http_targets(urls))
    interval = concurrency / rps
    # Idle connections expire before the gateway's 5 s keep-alive does, as nginx's do (ops/nginx):
    # at httpx's default of 5 s a request could go out on a connection the server was closing.
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency, keepalive_expiry=4)
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:

        async def worker() -> None:
            while not stop.is_set():
                started = time.monotonic()
                url = next(targets)
                try:
                    response = await client.get(url)
                    if response.status_code >= 500 or response.status_code == 429:
                        stats.errors[f"{response.status_code} {url.split('/', 3)[-1]}"] += 1
                        if len(stats.samples) < 3:
                            stats.samples.append(f"{time.strftime('%H:%M:%S')} {url}: {response.text[:600]}")
                except httpx.HTTPError as exc:
                    stats.errors[f"{type(exc).__name__} {url.split('/', 3)[-1]}"] += 1
                stats.requests += 1
                await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

        await asyncio.gather(*(worker() for _ in range(concurrency)))


async def socket_client(base: str, namespace: str, token: str, stop: asyncio.Event, stats: Stats) -> None:
    """One Socket.IO client: open, sign in to ``namespace``, answer pings until ``stop``."""
    url = base.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    try:
        async with connect(url, open_timeout=30, ping_interval=None) as ws:
            await ws.recv()  # Engine.IO "open" packet
            await ws.send(f"40{namespace}," + json.dumps({"token": token}))
            reply = str(await ws.recv())
            if not reply.startswith(f"40{namespace},"):
                stats.refused += 1
                return
            stats.sockets += 1
            stats.peak_sockets = max(stats.peak_sockets, stats.sockets)
            waiter = asyncio.ensure_future(stop.wait())
            try:
                while not stop.is_set():
                    receive = asyncio.ensure_future(ws.recv())
                    done, _ = await asyncio.wait({receive, waiter}, return_when=asyncio.FIRST_COMPLETED)
                    if receive not in done:
                        receive.cancel()
                        break
                    message = receive.result()
                    if message == "2":
                        await ws.send("3")
                    else:
                        stats.socket_messages += 1
            finally:
                waiter.cancel()
                stats.sockets -= 1
    except (OSError, ConnectionClosed, WebSocketException, TimeoutError):
        if not stop.is_set():
            stats.dropped += 1


async def socket_clients(targets: list[tuple[str, str, str]], count: int, stop: asyncio.Event, stats: Stats) -> None:
    """``count`` clients spread over ``targets`` (base URL, namespace, token), opened 50 at a time."""
    if not targets:
        return
    tasks = []
    for i in range(count):
        base, namespace, token = targets[i % len(targets)]
        tasks.append(asyncio.ensure_future(socket_client(base, namespace, token, stop, stats)))
        if i % 50 == 49:
            await asyncio.sleep(0.1)  # spread the handshakes instead of 500 at once
    await asyncio.gather(*tasks)


async def jetstream_replay(jetstream: FakeJetstream, rate: int, stop: asyncio.Event, stats: Stats) -> None:
    """Append a seeded, realistic Jetstream mix at ``rate`` events per second, stamped with the wall clock."""
    rng = random.Random(8)
    dids = [f"did:plc:bench{i:05d}" for i in range(5000)]
    hose = Firehose(int(time.time() * 1_000_000), step_us=max(1, 1_000_000 // rate))
    tick = 0.1
    while not stop.is_set():
        started = time.monotonic()
        hose.time_us = max(hose.time_us, int(time.time() * 1_000_000) - 1_000_000)
        events = realistic(hose, rng, dids, [], max(1, int(rate * tick)))
        jetstream.publish(list(events))
        stats.events += len(events)
        await asyncio.sleep(max(0.0, tick - (time.monotonic() - started)))


# A poll whose invitees haven't voted, with a vote reminder due now (the seacalendar bot bench's seed).
REMINDER = """WITH creator AS (INSERT INTO users (display_name, discord_id) VALUES ('bench', $2) RETURNING id),
poll AS (INSERT INTO polls (creator_id, type, title, voting_deadline)
         SELECT id, 'generic', 'Bench poll', now() + interval '20 hours' FROM creator RETURNING id),
opt AS (INSERT INTO poll_options (poll_id, label, position) SELECT id, 'a', 0 FROM poll),
inv AS (INSERT INTO invites (poll_id, discord_id) SELECT poll.id, (500000000000000000 + n)::text
        FROM poll, generate_series(1, $1::int) n)
INSERT INTO reminders (poll_id, type, scheduled_for) SELECT id, 'vote_1d', now() FROM poll"""


async def bot_reminders(dsn: str, stop: asyncio.Event, stats: Stats, every: float = 10.0, invitees: int = 20) -> None:
    """Every ``every`` seconds a reminder to ``invitees`` people falls due; the bot sends one DM each."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        while not stop.is_set():
            try:
                await conn.execute(REMINDER, invitees, f"bench-{time.time_ns()}")
                stats.reminders += 1
            except asyncpg.PostgresError as exc:
                stats.errors[f"reminder seed: {type(exc).__name__}"] += 1
            try:
                await asyncio.wait_for(stop.wait(), every)
            except TimeoutError:
                continue
    finally:
        await conn.close()
