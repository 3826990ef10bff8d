"""Wishlist figures: gateway RSS idle and after 10,000 API requests; req/s and latency of the hot path.

Run: ``.venv/bin/python bench/wishlist_api.py`` (``--help`` for options). It starts its own
PostgreSQL (embedded, tuned by ``ops/postgres.conf``; or ``ONEBOX_DATABASE_URL``), provisions and
migrates, then runs the real gateway (``onebox serve``: uvicorn, uvloop, httptools, one process)
on a loopback port with the per-IP rate limit lifted (every request comes from 127.0.0.1).

1. RSS/PSS of the gateway once it answers ``/health`` (idle).
2. 10,000 mixed wishlist API requests from 20 concurrent clients (reads of the wishlist, the
   list, items and tags; item creates, updates and deletes), then RSS/PSS again.
3. ``GET /wishlist/api/wishlists/{id}`` (a wishlist of ``--items`` items, three tags each) with
   50 connections: ``wrk`` when installed (``apt-get install -y wrk``), else an async Python
   client, which on two cores competes with the server and so reads lower. Then, for scale, the
   same load on an unknown API path: the JSON 404 costs the middleware stack and routing only.

CPU time per request (gateway, and PostgreSQL's backends) is printed too: on a machine other
work shares it moves much less than req/s does.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.box import box, free_port  # noqa: E402

WRK_REPORT = """
done = function(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read
            + summary.errors.write + summary.errors.timeout
  io.write(string.format("REPORT %d %d %d %d %d %d\\n", summary.requests, summary.duration, bad,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def cpu_seconds(pid: int, with_children: bool = False) -> dict[int, float]:
    """User + system CPU time of a process (and of each of its current children), by pid."""
    parent = psutil.Process(pid)
    seconds = {}
    for process in [parent, *(parent.children(recursive=True) if with_children else [])]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        seconds[process.pid] = times.user + times.system
    return seconds


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two readings (a process that ended in between is left out)."""
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def memory(pid: int) -> str:
    """RSS and PSS of one process, in MB."""
    info = psutil.Process(pid).memory_full_info()
    return f"RSS {info.rss / 2**20:6.1f} MB  PSS {info.pss / 2**20:6.1f} MB"


@contextmanager
def gateway(env: dict[str, str], port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``onebox serve`` on ``port`` until the block ends."""
    command = [sys.executable, "-c", "from gateway.cli import main; main()", "serve", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=20)


async def wait_healthy(base: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Poll ``/health`` until the gateway answers 200."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("the gateway exited during start-up; see its log")
            try:
                if (await client.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the gateway did not become healthy")


async def seed(client: httpx.AsyncClient, items: int) -> tuple[dict[str, str], int, list[int]]:
    """An account, three tags and a public wishlist of ``items`` items: (auth header, wishlist id, tag ids)."""
    email = f"bench-{secrets.token_hex(4)}@example.com"
    signup = await client.post(
        "/wishlist/api/auth/register", json={"email": email, "password": "Bench-pass-1", "name": "Bench"}
    )
    signup.raise_for_status()
    auth = {"Authorization": f"Bearer {signup.json()['access_token']}"}
    tags = [
        (await client.post("/wishlist/api/tags", json={"name": n, "color": "#336699"}, headers=auth)).json()["id"]
        for n in ("books", "music", "outdoor")
    ]
    wishlist = await client.post(
        "/wishlist/api/wishlists",
        json={"title": "Birthday", "description": "Things I'd love", "visibility": "public"},
        headers=auth,
    )
    wishlist_id = int(wishlist.json()["id"])
    for n in range(items):
        body = {
            "wishlist_id": wishlist_id,
            "name": f"Gift number {n}",
            "url": f"https://shop.example/products/{n}",
            "price": f"{10 + n}.99",
            "currency": "EUR",
            "notes": "Size M, any colour but beige",
            "priority": 1 + n % 5,
            "tag_ids": tags,
        }
        (await client.post("/wishlist/api/items", json=body, headers=auth)).raise_for_status()
    return auth, wishlist_id, tags


async def mixed_requests(
    client: httpx.AsyncClient, auth: dict[str, str], wishlist_id: int, tags: list[int], total: int, workers: int
) -> Counter[int]:
    """``total`` requests in the proportions a user session makes them; status code counts."""
    statuses: Counter[int] = Counter()
    remaining = total
    rng = random.Random(7)

    async def one() -> int:
        """One step of a session; returns how many requests it made."""
        roll = rng.random()
        if roll < 0.5:
            statuses[(await client.get(f"/wishlist/api/wishlists/{wishlist_id}", headers=auth)).status_code] += 1
        elif roll < 0.7:
            statuses[(await client.get("/wishlist/api/wishlists?limit=20", headers=auth)).status_code] += 1
        elif roll < 0.8:
            statuses[(await client.get(f"/wishlist/api/wishlists/{wishlist_id}/items", headers=auth)).status_code] += 1
        elif roll < 0.9:
            statuses[(await client.get("/wishlist/api/tags", headers=auth)).status_code] += 1
        else:
            # A write cycle: create, update, delete.
            body = {"wishlist_id": wishlist_id, "name": "Temp", "price": "5", "currency": "EUR", "tag_ids": tags[:1]}
            created = await client.post("/wishlist/api/items", json=body, headers=auth)
            statuses[created.status_code] += 1
            item = f"/wishlist/api/items/{created.json()['id']}"
            statuses[(await client.put(item, json={"priority": 2}, headers=auth)).status_code] += 1
            statuses[(await client.delete(item, headers=auth)).status_code] += 1
            return 3
        return 1

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1  # claim the slot before awaiting, so workers don't overshoot
            extra = await one() - 1
            remaining -= extra

    await asyncio.gather(*(worker() for _ in range(workers)))
    return statuses


def run_wrk(
    url: str, auth: dict[str, str], connections: int, seconds: int, threads: int, pace_ms: int = 0
) -> dict[str, float]:
    """One wrk run against ``url``: requests/s, non-2xx count, p50/p95/p99 in ms.

    ``pace_ms``: each connection waits that long between its requests (a client reading what it
    got) instead of sending the next at once; latency is still measured per request.
    """
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_REPORT)
        if pace_ms:
            script.write(f"delay = function() return {pace_ms} end\n")
    try:
        header = f"Authorization: {auth['Authorization']}"
        done = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-H", header, "-s", script.name, url],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(script.name)
    match = re.search(r"REPORT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)", done.stdout)
    if match is None:
        raise RuntimeError(f"unexpected wrk output:\n{done.stdout}\n{done.stderr}")
    requests, duration_us, bad, p50, p95, p99 = map(int, match.groups())
    return {
        "rps": requests / (duration_us / 1e6),
        "requests": requests,
        "bad": bad,
        "p50": p50 / 1000,
        "p95": p95 / 1000,
        "p99": p99 / 1000,
    }


async def run_python_load(url: str, auth: dict[str, str], connections: int, seconds: int) -> dict[str, float]:
    """The wrk figures measured by ``connections`` async clients in this process (fallback)."""
    latencies: list[float] = []
    bad = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, headers=auth) as client:
        began = time.perf_counter()
        deadline = began + seconds

        async def worker() -> None:
            nonlocal bad
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.get(url)
                latencies.append(time.perf_counter() - started)
                bad += response.status_code != 200

        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - began
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "rps": len(latencies) / elapsed,
        "requests": len(latencies),
        "bad": bad,
        "p50": cuts[49] * 1000,
        "p95": cuts[94] * 1000,
        "p99": cuts[98] * 1000,
    }


async def load_run(
    label: str,
    url: str,
    auth: dict[str, str],
    args: argparse.Namespace,
    tool: str,
    pid: int,
    postmaster: int | None,
    pace_ms: int = 0,
) -> None:
    """One load run against ``url``: throughput, latency and CPU per request, printed.

    ``args`` gives connections, seconds and wrk threads; ``pace_ms`` (wrk only) a pause per request.
    """
    # CPU time per request holds steadier than req/s when other work shares the cores.
    gateway_cpu = cpu_seconds(pid)
    pg_cpu = cpu_seconds(postmaster, with_children=True) if postmaster else {}
    if tool == "wrk":
        result = run_wrk(url, auth, args.connections, args.seconds, args.threads, pace_ms)
    else:
        result = await run_python_load(url, auth, args.connections, args.seconds)
    per_request = 1e6 / result["requests"]
    paced = f", {pace_ms} ms apart" if pace_ms else ""
    line = (
        f"{label} ({args.connections} conns{paced}, {args.seconds}s): {result['rps']:6.0f} req/s  "
        f"p50 {result['p50']:.2f} ms  p95 {result['p95']:.2f} ms  p99 {result['p99']:.2f} ms  "
        f"non-2xx/errors {result['bad']:.0f}\n    CPU per request: gateway "
        f"{cpu_spent(gateway_cpu, cpu_seconds(pid)) * per_request:.0f} µs"
    )
    if postmaster:
        # Backends that closed meanwhile are missing: a lower bound.
        line += f", PostgreSQL ≥ {cpu_spent(pg_cpu, cpu_seconds(postmaster, with_children=True)) * per_request:.0f} µs"
    print(line)


async def bench(args: argparse.Namespace, env: dict[str, str], port: int, log: Path, pg_data: Path | None) -> None:
    """Start the gateway, seed, measure, print."""
    # The postmaster's pid heads postmaster.pid; its children are the backends serving our pool.
    postmaster = int((pg_data / "postmaster.pid").read_text().split()[0]) if pg_data else None
    base = f"http://127.0.0.1:{port}"
    with gateway(env, port, log) as process:
        await wait_healthy(base, process)
        print(f"gateway pid {process.pid}, tenants: {env.get('ONEBOX_TENANTS', 'all')}, log level {args.log_level}")
        print(f"idle (after start-up and /health):      {memory(process.pid)}")
        limits = httpx.Limits(max_connections=args.workers)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
            auth, wishlist_id, tags = await seed(client, args.items)
            doc = await client.get(f"/wishlist/api/wishlists/{wishlist_id}", headers=auth)
            print(f"seeded: wishlist {wishlist_id} with {args.items} items x 3 tags ({len(doc.content)} bytes of JSON)")
            began = time.perf_counter()
            statuses = await mixed_requests(client, auth, wishlist_id, tags, args.requests, args.workers)
            elapsed = time.perf_counter() - began
        total = sum(statuses.values())
        print(
            f"after {total} mixed API requests:     {memory(process.pid)}"
            f"   ({total / elapsed:.0f} req/s from {args.workers} clients; statuses {dict(sorted(statuses.items()))})"
        )
        tool = "wrk" if shutil.which("wrk") and not args.python_client else "python"
        targets = [(f"GET /wishlist/api/wishlists/{{id}} [{tool}]", f"/wishlist/api/wishlists/{wishlist_id}")]
        # The floor under it: a JSON 404 goes through the same middleware and routing, no auth, no database.
        targets += [("reference: GET of an unknown API path (JSON 404)", "/wishlist/api/no-such-thing")]
        for number, (label, path) in enumerate(targets):
            for round_ in range(args.rounds if number == 0 else 1):
                await load_run(f"{label}, round {round_ + 1}", base + path, auth, args, tool, process.pid, postmaster)
        print(f"after the load runs:                    {memory(process.pid)}")


def main() -> None:
    """Parse options, prepare a database, run the measurements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", default=None, help="ONEBOX_TENANTS for the gateway (default: all registered)")
    parser.add_argument("--items", type=int, default=10, help="items on the benchmarked wishlist")
    parser.add_argument("--requests", type=int, default=10_000, help="mixed API requests before the second RSS")
    parser.add_argument("--workers", type=int, default=20, help="concurrent clients for the mixed requests")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--seconds", type=int, default=15, help="length of one load run")
    parser.add_argument("--rounds", type=int, default=2, help="load runs (the first also warms up)")
    parser.add_argument("--log-level", default="info", help="gateway log level (info logs every request)")
    parser.add_argument("--python-client", action="store_true", help="use the Python client even if wrk exists")
    args = parser.parse_args()

    tenants = args.tenants.split(",") if args.tenants else None
    with box(tenants, ONEBOX_LOG_LEVEL=args.log_level) as scratch:
        env, pg_data = scratch.env, scratch.pg_data
        log = scratch.tmp / "gateway.log"
        try:
            asyncio.run(bench(args, env, free_port(), log, pg_data))
        except Exception:
            print("---- end of the gateway's log ----\n" + "\n".join(log.read_text().splitlines()[-30:]))
            raise


if __name__ == "__main__":
    main()
