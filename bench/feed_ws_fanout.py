"""Feed figures: WebSocket fan-out — with ``--clients`` members connected to ``/feed/ws``, how long
from the commit of one like until every client has the ``post_updated`` frame.

Run: ``.venv/bin/python bench/feed_ws_fanout.py`` (``--help`` for options). It starts its own
PostgreSQL and the real gateway (``onebox serve``, feed tenant only), signs every client in with
its own member token, then writes ``--likes`` likes one after another exactly as the indexer
does (processors, then NOTIFY in the same transaction). The clients run in this process, so
their own reading adds to the figures: on two cores they share the CPU with the gateway.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
from pathlib import Path

import asyncpg
import orjson
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.box import box, cpu_reference, free_port  # noqa: E402
from bench.wishlist_api import gateway, memory, wait_healthy  # noqa: E402
from gateway.context import signing_key  # noqa: E402
from shared.auth.tokens import TokenService  # noqa: E402
from tenants.feed.indexer.apply import apply_ops, publish  # noqa: E402
from tenants.feed.indexer.events import decode  # noqa: E402
from tenants.feed.indexer.main import feed_dsn  # noqa: E402
from tenants.feed.indexer.processors.base import Effects  # noqa: E402

AUTHOR = "did:plc:fanoutauthor"
POST_URI = f"at://{AUTHOR}/app.bsky.feed.post/3kfanout"


def commit(did: str, collection: str, rkey: str, record: dict[str, object]) -> bytes:
    """A Jetstream commit frame."""
    body = {"rev": "3k", "operation": "create", "collection": collection, "rkey": rkey,
            "record": {"$type": collection, **record}, "cid": f"bafy{rkey}"}  # fmt: skip
    return orjson.dumps({"did": did, "time_us": time.time_ns() // 1000, "kind": "commit", "commit": body})


async def write(conn: asyncpg.Connection, frame: bytes) -> None:
    """Apply one event as the indexer's writer does."""
    fx = Effects(live=True)
    async with conn.transaction():
        await apply_ops(conn, [decode(frame, 1_000_000)], fx, frozenset())
        await publish(conn, "onebox_feed", fx)


class Tally:
    """Counts arrivals per like; ``complete[n]`` is set once every client has like ``n``."""

    def __init__(self, clients: int) -> None:
        self.clients = clients
        self.arrived: dict[int, int] = {}
        self.complete: dict[int, asyncio.Event] = {}

    def event(self, n: int) -> asyncio.Event:
        return self.complete.setdefault(n, asyncio.Event())

    def arrive(self, n: int) -> None:
        self.arrived[n] = self.arrived.get(n, 0) + 1
        if self.arrived[n] == self.clients:
            self.event(n).set()


class Client:
    """One member's socket and the receive time of each like count it saw."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen: dict[int, float] = {}

    async def read(self, tally: Tally) -> None:
        async for message in self.ws:
            if isinstance(message, str) and '"post_updated"' in message:
                count = orjson.loads(message)["likeCount"]
                self.seen[count] = time.perf_counter()
                tally.arrive(count)


async def open_clients(base: str, tokens: list[str]) -> list[Client]:
    """Connect and sign in every client, 100 at a time."""
    clients: list[Client] = []

    async def one(token: str) -> Client:
        ws = await connect(f"{base.replace('http', 'ws')}/feed/ws", max_queue=64, ping_interval=None)
        await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
        while '"auth_ok"' not in str(await ws.recv()):
            pass
        return Client(ws)

    for start in range(0, len(tokens), 100):
        clients += await asyncio.gather(*(one(t) for t in tokens[start : start + 100]))
    return clients


async def bench(args: argparse.Namespace, env: dict[str, str], port: int, log: Path, dsn: str, secret: str) -> None:
    """Connect the clients, write likes, print the delivery times."""
    base = f"http://127.0.0.1:{port}"
    tokens = TokenService(signing_key(secret, "feed"), "feed")
    conn = await asyncpg.connect(dsn)
    await write(
        conn, commit(AUTHOR, "app.bsky.feed.post", "3kfanout", {"text": "like me", "createdAt": "2025-01-01T00:00:00Z"})
    )
    with gateway(env, port, log) as process:
        await wait_healthy(base, process)
        began = time.perf_counter()
        members = [tokens.issue_access(f"did:plc:m{i}", ttl=3600) for i in range(args.clients)]
        clients = await open_clients(base, members)
        tally = Tally(len(clients))
        readers = [asyncio.create_task(c.read(tally)) for c in clients]
        print(f"{len(clients)} clients connected and signed in in {time.perf_counter() - began:.1f} s; "
              f"gateway {memory(process.pid)}")  # fmt: skip
        rounds: list[list[float]] = []
        for n in range(1, args.likes + 1):
            like = {"subject": {"uri": POST_URI, "cid": "bafy3kfanout"}, "createdAt": "2025-01-01T00:00:00Z"}
            await write(conn, commit(f"did:plc:fan{n}", "app.bsky.feed.like", f"3klike{n}", like))
            committed = time.perf_counter()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tally.event(n).wait(), 30)
            delays = [(c.seen[n] - committed) * 1000 for c in clients if n in c.seen]
            rounds.append(sorted(delays))
            missing = len(clients) - len(delays)
            cuts = statistics.quantiles(delays, n=100)
            print(f"like {n:2d}: every client had it after {max(delays):7.1f} ms  "
                  f"(p50 {cuts[49]:6.1f} ms, p95 {cuts[94]:6.1f} ms; missing {missing})")  # fmt: skip
        all_last = [r[-1] for r in rounds]
        every_p95 = [statistics.quantiles(r, n=100)[94] for r in rounds]
        print(f"time until the last of {len(clients)} clients had the event: p50 {statistics.median(all_last):.1f} ms, "
              f"p95 {statistics.quantiles(all_last, n=20)[18]:.1f} ms over {len(rounds)} likes; "
              f"per-client p95 (median over likes) {statistics.median(every_p95):.1f} ms")  # fmt: skip
        print(f"gateway after the run: {memory(process.pid)}")
        print(cpu_reference())
        for task in readers:
            task.cancel()
        await asyncio.gather(*(c.ws.close() for c in clients), return_exceptions=True)
    await conn.close()


def main() -> None:
    """Parse options, prepare a database, run the measurement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--likes", type=int, default=20)
    args = parser.parse_args()
    with box(["feed"]) as scratch:
        settings, env, secret = scratch.settings, scratch.env, scratch.secret
        log = scratch.tmp / "gateway.log"
        try:
            asyncio.run(bench(args, env, free_port(), log, feed_dsn(settings), secret))
        except Exception:
            print("---- end of the gateway's log ----\n" + "\n".join(log.read_text().splitlines()[-30:]))
            raise


if __name__ == "__main__":
    main()
