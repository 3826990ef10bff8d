"""The measured memory budget: the whole box under a mixed load, consolidated against separate apps.

Run: ``.venv/bin/python bench/memory.py`` (about ten minutes; ``--soak 3600`` for the one-hour soak).

Each layout is started with ``onebox run`` in fresh data directories, with the feed indexer reading
a fake Jetstream and the bot talking to a fake Discord. "consolidated" is one ``onebox run``: one
supervisord, one embedded PostgreSQL, one gateway with every tenant and both workers. "separate"
is four ``onebox run``, one per tenant, as four separate apps would run: each its own supervisord
(with memmon and the restart listener), its own embedded PostgreSQL holding only that tenant's
database, its own gateway, and that tenant's workers only. The load is the same for both: HTTP on
every tenant (``--rps``), ``--clients`` Socket.IO clients signed in to the tenants' namespaces, a
seeded, realistic Jetstream mix replayed at ``--rate`` events/s, and a vote reminder falling due
every 10 s. After ``--warmup`` seconds the load runs ``--duration`` seconds more; RSS and PSS of
every process of every stack are then taken while it still runs. PSS splits shared pages among all
the processes mapping them, so PSS sums to what the box really uses; RSS counts them in every process.

"separate" is measured two ways (``--separate``, both by default). "side-by-side": the four stacks
run at once under the whole load; they share one virtualenv and one PostgreSQL build on disk, so
PSS splits those library and binary pages among them (a lower bound for separate apps). "alone":
each stack is started by itself and gets its tenant's share of the same load (its HTTP targets at
the same rate and concurrency per stack, the Socket.IO clients side-by-side deals to it, the
Jetstream replay if it runs the feed indexer, the reminders if it runs the bot); it is measured and
stopped before the next one starts. Each stack then pays for every page it maps, as separate images
would (an upper bound, but for the library pages this process, driving the load from the same
virtualenv, also maps), and the four are added up.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from memlib import load, stacks  # noqa: E402

from gateway import registry  # noqa: E402
from gateway.context import signing_key  # noqa: E402
from gateway.procmem import MB, NOTHING, Usage  # noqa: E402
from shared.auth.tokens import TokenService  # noqa: E402
from tests.fakes.discord import BOT_TOKEN, CLIENT_ID, CLIENT_SECRET, FakeDiscord  # noqa: E402
from tests.fakes.jetstream import FakeJetstream  # noqa: E402
from tests.fakes.pds import FakePds  # noqa: E402
from tests.support.server import serve  # noqa: E402

Rows = stacks.Rows
Measured = dict[str, Rows]
Layout = Callable[[Path, dict[str, str]], stacks.Box]

# Row order of the tables; gateways of a one-tenant stack are "gateway-<tenant>".
KINDS = ("supervisord", "postgres", "gateway", "feed-indexer", "seacalendar-bot", "memmon", "restarts")
# The ways "separate" is measured (``--separate``).
SEPARATE = ("side-by-side", "alone")


@dataclass
class Facts:
    """What happened to the box while it was measured."""

    gateway_rss_start: int
    gateway_rss_end: int
    restarts: dict[str, dict[str, Any]]
    states: dict[str, str]


def socket_targets(box: stacks.Box) -> list[tuple[str, str, str]]:
    """(gateway URL, namespace, access token) for every tenant of the box with a Socket.IO namespace."""
    targets = []
    for name in box.tenants:
        if registry.load(name).socketio is not None:
            secret = box.stack(name).secret
            token = TokenService(signing_key(secret, name), name, ttl=24 * 3600).issue_access("1")
            targets.append((box.urls[name], f"/{name}", token))
    return targets


def socket_share(box: stacks.Box, clients: int) -> int:
    """How many of the load's ``clients`` Socket.IO clients go to the box: the whole load deals them
    round-robin over every tenant with a namespace (as ``load.socket_clients`` does); the box gets its tenants'."""
    spread = [name for name in registry.TENANTS if registry.load(name).socketio is not None]
    return sum(len(range(spread.index(name), clients, len(spread))) for name in box.tenants if name in spread)


def http_share(box: stacks.Box) -> float:
    """The box's fraction of the HTTP load. Each tenant has as many targets (its pages, and its own stack's
    /health when separate), so a box serving some of the tenants gets that fraction of the requests per
    second and of the requests in flight: each stack then gets the traffic it gets side by side."""
    return len(box.tenants) / len(registry.TENANTS)


def kind(label: str) -> str:
    """The kind of process a row is: ``gateway-wishlist`` is a ``gateway``."""
    return "gateway" if label.startswith("gateway") else label


def by_kind(measured: Measured) -> Rows:
    """Rows of every stack added up per label (four PostgreSQL servers make one row), in ``KINDS`` order."""
    totals: dict[str, Usage] = {}
    for rows in measured.values():
        for label, used in rows:
            totals[label] = totals.get(label, NOTHING) + used
    order = {name: i for i, name in enumerate(KINDS)}
    return sorted(totals.items(), key=lambda row: order.get(kind(row[0]), len(KINDS)))


def gateways(rows: Rows) -> int:
    """PSS of the gateway process(es)."""
    return sum(u.pss or 0 for name, u in rows if kind(name) == "gateway")


def ratio_line(together: int, apart: int) -> str:
    """``together / apart`` in MB and as a ratio."""
    return f"{together / MB:6.0f} / {apart / MB:6.0f} MB = {together / max(apart, 1):.2f}"


def gateway_rss(rows: Rows) -> int:
    """RSS of the gateway process(es)."""
    return sum(u.rss for name, u in rows if kind(name) == "gateway")


async def run_box(
    name: str, layout: Layout, args: argparse.Namespace, seconds: float
) -> tuple[Measured, load.Stats, Facts]:
    """Start a box, give it its tenants' share of the load, measure it; returns (each stack's rows at the
    end, load stats, soak facts). A box with every tenant gets the whole load.

    Its data directory (~275 MB for four stacks) is removed afterwards, or kept for its logs when
    the run failed.
    """
    base = Path(tempfile.mkdtemp(prefix=f"onebox-memory-{name}-"))
    try:
        result = await measure_box(base, layout, args, seconds)
    except BaseException:
        print(f"the {name} box's data and logs are kept in {base}", file=sys.stderr)
        raise
    shutil.rmtree(base, ignore_errors=True)
    return result


async def measure_box(
    base: Path, layout: Layout, args: argparse.Namespace, seconds: float
) -> tuple[Measured, load.Stats, Facts]:
    """The body of :func:`run_box`, in the data directory ``base``."""
    discord_fake = FakeDiscord()
    async with FakeJetstream().running() as jetstream, FakePds().running() as pds, serve(discord_fake.app) as discord:
        extra = {
            "ONEBOX_JETSTREAM_URL": jetstream.url,
            "ONEBOX_PLC_URL": pds.plc_url,
            "ONEBOX_FEED_TAGS": "cannabis",
            "ONEBOX_DISCORD_API_BASE": f"{discord}/api",
            "ONEBOX_DISCORD_BOT_TOKEN": BOT_TOKEN,
            "ONEBOX_DISCORD_CLIENT_ID": CLIENT_ID,
            "ONEBOX_DISCORD_CLIENT_SECRET": CLIENT_SECRET,
            "ONEBOX_SEACALENDAR_BOT_TICK": "2",  # due reminders go out within seconds, not half a minute
        }
        box = layout(base, extra)
        try:
            await asyncio.to_thread(box.wait_ready)
            stop, stats = asyncio.Event(), load.Stats()
            part, clients = http_share(box), socket_share(box, args.clients)
            concurrency = max(1, round(load.CONCURRENCY * part))
            tasks = [
                asyncio.ensure_future(load.http_load(box.urls, args.rps * part, stop, stats, concurrency)),
                asyncio.ensure_future(load.socket_clients(socket_targets(box), clients, stop, stats)),
            ]
            if "feed" in box.tenants:  # the feed indexer reads the Jetstream
                tasks.append(asyncio.ensure_future(load.jetstream_replay(jetstream, args.rate, stop, stats)))
            if "seacalendar" in box.tenants:  # the bot sends the reminders
                dsn = box.stack("seacalendar").tenant_dsn("seacalendar")
                tasks.append(asyncio.ensure_future(load.bot_reminders(dsn, stop, stats)))
            await asyncio.sleep(args.warmup)
            first = await asyncio.to_thread(box.measure)
            await asyncio.sleep(seconds)
            measured = await asyncio.to_thread(box.measure)
            stop.set()
            await asyncio.gather(*tasks)
            states = {name: info["state"] for name, info in box.programs().items()}
            stats.discord_messages = sum(1 for _, method, route, _ in discord_fake.requests if method == "POST")
            facts = Facts(gateway_rss(by_kind(first)), gateway_rss(by_kind(measured)), box.restarts(), states)
            return measured, stats, facts
        finally:
            await asyncio.to_thread(box.stop)


def table(title: str, measured: Measured) -> Rows:
    """Print one layout's processes per kind, its total and, with several stacks, each stack's PSS."""
    rows = by_kind(measured)
    print(f"\n{title}")
    print(f"  {'process':<32}{'RSS MB':>9}{'PSS MB':>9}")
    for name, used in rows:
        label = f"{name} ({used.count} processes)" if used.count > 1 else name
        print(f"  {label:<32}{used.rss / MB:>9.1f}{(used.pss or 0) / MB:>9.1f}")
    total = total_of(rows)
    print(f"  {'total':<32}{total.rss / MB:>9.1f}{(total.pss or 0) / MB:>9.1f}")
    if len(measured) > 1:
        each = ", ".join(f"{name} {(total_of(stack).pss or 0) / MB:.1f}" for name, stack in measured.items())
        print(f"  PSS MB per stack: {each}")
    return rows


def total_of(rows: Rows) -> Usage:
    """All rows added up."""
    total = NOTHING
    for _, used in rows:
        total = total + used
    return total


def describe(stats: load.Stats, facts: Facts, run: str = "load") -> None:
    """What the load of ``run`` did and what went wrong, and any program not running at the end."""
    print(
        f"  {run}: {stats.requests} HTTP requests, {stats.error_count()} errors, "
        f"{stats.peak_sockets} Socket.IO clients connected ({stats.refused} refused, {stats.dropped} dropped), "
        f"{stats.events} Jetstream events replayed, {stats.socket_messages} Socket.IO messages received, "
        f"{stats.reminders} reminders due, {stats.discord_messages} Discord calls by the bot"
    )
    for what, count in stats.errors.most_common(5):
        print(f"    {count:>6}  {what}")
    for sample in stats.samples:
        print(f"    {sample}")
    not_running = {n: s for n, s in facts.states.items() if s != "RUNNING"}
    if not_running:
        print(f"  not running at the end: {not_running}")


async def main(args: argparse.Namespace) -> None:
    """Measure the consolidated box (or soak it), then the separate stacks, and print the ratios."""
    print(f"tenants: {', '.join(registry.TENANTS)}; load: {args.rps} req/s, {args.clients} Socket.IO clients, "
          f"{args.rate} Jetstream events/s; warm-up {args.warmup:.0f} s")  # fmt: skip
    seconds = args.soak or args.duration
    together_measured, stats, facts = await run_box("consolidated", stacks.consolidated, args, seconds)
    together_rows = table(
        f"Consolidated: one stack, one gateway with every tenant ({seconds:.0f} s under load)", together_measured
    )
    together = total_of(together_rows)
    describe(stats, facts)
    print(
        f"  targets: whole stack {(together.pss or 0) / MB:.0f} MB PSS (<= 600), "
        f"gateway {gateways(together_rows) / MB:.0f} MB PSS (<= 150)"
    )
    if args.soak:
        start, end = facts.gateway_rss_start, facts.gateway_rss_end
        memmon = sum(1 for fact in facts.restarts.values() if "memory" in fact.get("last_reason", ""))
        print(f"\nSoak ({args.soak:.0f} s): gateway RSS {start / MB:.1f} MB -> {end / MB:.1f} MB "
              f"({(end - start) / start:+.1%}, target < +10%), memmon restarts {memmon}, "
              f"errors {stats.error_count()}, restarts {facts.restarts or 'none'}")  # fmt: skip
    if args.skip_separate:
        return
    apart: dict[str, Rows] = {}
    if "side-by-side" in args.separate:
        measured, stats, facts = await run_box("separate", stacks.separate, args, args.duration)
        title = f"Separate, side by side: four stacks at once, one per tenant ({args.duration:.0f} s under load)"
        apart["side by side"] = table(title, measured)
        describe(stats, facts)
    if "alone" in args.separate:
        measured = {}
        runs: list[tuple[str, load.Stats, Facts]] = []
        for name in registry.TENANTS:
            alone, stats, facts = await run_box(
                f"alone-{name}", partial(stacks.separate, tenants=[name]), args, args.duration
            )
            measured.update(alone)
            runs.append((name, stats, facts))
        title = (
            f"Separate, each alone: one stack at a time with its tenant's share of the load "
            f"({args.duration:.0f} s under load each)"
        )
        apart["each alone"] = table(title, measured)
        for name, stats, facts in runs:
            describe(stats, facts, f"{name} load")
    print("\nconsolidated / separate, PSS (target <= 0.4):")
    for way, rows in apart.items():
        print(f"  whole box, {way:<13}{ratio_line(together.pss or 0, total_of(rows).pss or 0)}")
        print(f"  gateways,  {way:<13}{ratio_line(gateways(together_rows), gateways(rows))}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60, help="seconds under load after the warm-up")
    parser.add_argument("--warmup", type=float, default=20, help="seconds of load before measuring")
    parser.add_argument("--clients", type=int, default=500, help="Socket.IO clients")
    parser.add_argument("--rps", type=float, default=200, help="HTTP requests per second over all tenants")
    parser.add_argument("--rate", type=int, default=300, help="Jetstream events per second")
    parser.add_argument("--soak", type=float, default=0, help="run the consolidated box this long instead")
    parser.add_argument("--skip-separate", action="store_true", help="measure only the consolidated box")
    parser.add_argument(
        "--separate",
        nargs="+",
        choices=SEPARATE,
        default=list(SEPARATE),
        help="how to measure the separate stacks: all four at once (side-by-side), each by itself (alone)",
    )
    asyncio.run(main(parser.parse_args()))
