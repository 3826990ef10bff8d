"""SeaCalendar live votes: 1,000 Socket.IO clients in one poll room on one gateway process.

Run: ``.venv/bin/python bench/seacalendar_socketio.py`` (``--clients``, ``--votes``). It starts
its own PostgreSQL (embedded, tuned by ``ops/postgres.conf``; or ``ONEBOX_DATABASE_URL``), runs
the real gateway (``onebox serve``: uvicorn, uvloop, httptools, one process, seacalendar only)
on a loopback port, and connects raw WebSocket clients speaking Engine.IO 4 / Socket.IO 5 (a
full python-socketio client per connection would cost the load generator more than the server).

Printed: gateway RSS idle, with every client connected and joined, and after the votes; for each
vote, the time from sending ``POST /vote`` (the commit happens inside it) to each client
receiving ``vote_updated`` — p50/p95/p99 over clients × votes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import sqlalchemy as sa
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.box import box, free_port  # noqa: E402
from gateway.context import signing_key  # noqa: E402
from shared.auth.tokens import TokenService  # noqa: E402
from shared.db.urls import tenant_url  # noqa: E402
from shared.settings import Settings  # noqa: E402

NS = "/seacalendar"


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def make_users(settings: Settings, admin_url: str, count: int) -> list[int]:
    """``count`` accounts, straight into the tenant database."""
    url = tenant_url(admin_url, settings.db_prefix, "seacalendar", settings.require_secret())
    engine = sa.create_engine(url.set(drivername="postgresql+psycopg"))
    with engine.begin() as conn:
        rows = conn.execute(
            sa.text("INSERT INTO users (display_name) SELECT 'bench ' || n FROM generate_series(1, :c) n RETURNING id"),
            {"c": count},
        )
        ids = [r.id for r in rows]
    engine.dispose()
    return ids


class Room:
    """Receive times of each vote (keyed by the tally's voter count) across all clients."""

    def __init__(self, clients: int) -> None:
        self.clients = clients
        self.joined = 0
        self.all_joined = asyncio.Event()
        self.received: dict[int, list[float]] = {}
        self.complete: dict[int, asyncio.Event] = {}

    def expect(self, voters: int) -> asyncio.Event:
        self.received[voters] = []
        self.complete[voters] = asyncio.Event()
        return self.complete[voters]

    def got(self, voters: int, at: float) -> None:
        arrivals = self.received.setdefault(voters, [])
        arrivals.append(at)
        if len(arrivals) == self.clients and voters in self.complete:
            self.complete[voters].set()


async def client(base: str, token: str, poll_id: int, room: Room, stop: asyncio.Event) -> None:
    """One client: sign in, join ``poll:<id>``, record each vote_updated, answer pings."""
    async with connect(
        base.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket", open_timeout=60
    ) as ws:
        await ws.recv()
        await ws.send(f"40{NS}," + json.dumps({"token": token}))
        assert str(await ws.recv()).startswith(f"40{NS},")
        await ws.send(f"42{NS},0" + json.dumps(["join", {"room": f"poll:{poll_id}"}]))
        assert '"ok":true' in str(await ws.recv())
        room.joined += 1
        if room.joined == room.clients:
            room.all_joined.set()
        prefix = f"42{NS},"
        while not stop.is_set():
            message = str(await ws.recv())
            if message == "2":
                await ws.send("3")
            elif message.startswith(prefix):
                event, data = json.loads(message[len(prefix) :])
                if event == "vote_updated":
                    room.got(data["tally"]["voters"], time.perf_counter())


async def run(base: str, pid: int, tokens: list[str], clients: int, votes: int) -> None:
    auth = {"Authorization": f"Bearer {tokens[0]}"}
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        body = {"title": "Bench", "type": "generic", "is_private": False, "options": [{"label": "a"}, {"label": "b"}]}
        poll = (await http.post("/seacalendar/api/polls", json=body, headers=auth)).json()
        option = poll["options"][0]["id"]
        idle = rss_mb(pid)
        room, stop = Room(clients), asyncio.Event()
        started = time.perf_counter()
        tasks = []
        for i in range(clients):
            tasks.append(asyncio.ensure_future(client(base, tokens[0], poll["id"], room, stop)))
            if i % 100 == 99:
                await asyncio.sleep(0.05)  # spread handshakes
        await asyncio.wait_for(room.all_joined.wait(), 120)
        connect_s = time.perf_counter() - started
        connected = rss_mb(pid)
        metrics = (await http.get("/metrics")).text
        gauge = next(line for line in metrics.splitlines() if line.startswith("onebox_socketio_connections{"))
        latencies: list[float] = []
        for n in range(votes):
            done = room.expect(n + 1)
            sent = time.perf_counter()
            answer = await http.post(
                f"/seacalendar/api/polls/{poll['id']}/vote",
                json={"available": [option]},
                headers={"Authorization": f"Bearer {tokens[n + 1]}"},
            )
            assert answer.status_code == 200, answer.text
            await asyncio.wait_for(done.wait(), 60)
            latencies += [(at - sent) * 1000 for at in room.received[n + 1]]
        after = rss_mb(pid)
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    q = statistics.quantiles(latencies, n=100)
    print(f"clients connected and joined: {room.joined} in {connect_s:.1f}s; {gauge}")
    print(f"gateway RSS: idle {idle:.1f} MB, {clients} clients {connected:.1f} MB, after {votes} votes {after:.1f} MB")
    print(
        f"vote → every client ({len(latencies)} deliveries): p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, "
        f"p99 {q[98]:.1f} ms, max {max(latencies):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--votes", type=int, default=20)
    args = parser.parse_args()
    with box(["seacalendar"]) as scratch:
        settings, env, secret, admin_url, tmp = (
            scratch.settings,
            scratch.env,
            scratch.secret,
            scratch.admin_url,
            scratch.tmp,
        )
        users = make_users(settings, admin_url, args.votes + 1)
        service = TokenService(signing_key(secret, "seacalendar"), "seacalendar", ttl=3600)
        tokens = [service.issue_access(str(u)) for u in users]
        port = free_port()
        command = [sys.executable, "-c", "from gateway.cli import main; main()", "serve", "--port", str(port)]
        with open(Path(tmp) / "gateway.log", "wb") as log:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                base = f"http://127.0.0.1:{port}"
                deadline = time.monotonic() + 30
                while True:
                    try:
                        if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise SystemExit("gateway did not start; see its log")
                    time.sleep(0.1)
                import uvloop

                uvloop.run(run(base, process.pid, tokens, args.clients, args.votes))
            finally:
                process.terminate()
                process.wait(15)


if __name__ == "__main__":
    main()
