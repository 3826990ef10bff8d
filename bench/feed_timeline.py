"""Feed figures: the following timeline with 1,000,000 posts and a member following 1,000 accounts.

Run: ``.venv/bin/python bench/feed_timeline.py`` (``--help`` for options). It starts its own
PostgreSQL (embedded, tuned by ``ops/postgres.conf``; or ``ONEBOX_DATABASE_URL``), provisions and
migrates, seeds ``--authors`` x ``--posts-per-author`` posts (with their feed items; the member
follows ``--follows`` of the authors and has liked some posts) straight into the feed database,
then runs the real gateway (``onebox serve``, feed tenant only) and measures
``GET /feed/xrpc/app.bsky.feed.getTimeline`` and ``GET /feed/api/feed/following`` for that member,
and ``getTimeline`` for a newcomer whose timeline is still empty, with ``--connections``
concurrent connections: ``wrk`` when installed, else an async Python client.
Each run also prints the CPU time per request of the gateway and of PostgreSQL: on two cores
their sum bounds the throughput. A CPU reference (a fixed Python loop) before and after the runs
tells how fast the machine was meanwhile. ``--pace-ms`` makes each connection pause between requests, for
the latency a client sees at a given load instead of at saturation.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import time
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.box import box, cpu_reference, free_port  # noqa: E402
from bench.wishlist_api import gateway, load_run, memory, wait_healthy  # noqa: E402
from gateway.context import signing_key  # noqa: E402
from shared.auth.tokens import TokenService  # noqa: E402
from tenants.feed.indexer.main import feed_dsn  # noqa: E402

MEMBER = "did:plc:benchmember"
# Signed in, nothing in their timeline yet: a member's first visit.
NEWCOMER = "did:plc:benchnewcomer"

# (statement, names of its parameters in order)
SEED = [
    (
        """INSERT INTO profiles (did, handle, display_name, description, posts_count)
           SELECT 'did:plc:author' || a, 'author' || a || '.bench.test', 'Author ' || a, 'Grows things #' || a, $2
           FROM generate_series(1, $1) a""",
        ("authors", "per_author"),
    ),
    ("INSERT INTO profiles (did, handle, display_name, is_member) VALUES ($1, 'member.bench.test', 'Member', true)",
     ("member",)),
    ("INSERT INTO members (did, handle) VALUES ($1, 'member.bench.test')", ("member",)),
    (
        """INSERT INTO follows (uri, cid, author_did, subject_did, created_at)
           SELECT 'at://' || $1 || '/app.bsky.graph.follow/f' || a, 'bafyfollow' || a, $1, 'did:plc:author' || a, now()
           FROM generate_series(1, $2) a""",
        ("member", "follows"),
    ),
    (
        """INSERT INTO viewer_actor_state (viewer_did, subject_did, follow_uri)
           SELECT $1, 'did:plc:author' || a, 'at://' || $1 || '/app.bsky.graph.follow/f' || a
           FROM generate_series(1, $2) a""",
        ("member", "follows"),
    ),
]  # fmt: skip
# Posts of author a, number n: spread over 30 days, newest last; every 10th post of an author is tagged.
POSTS = """
WITH rows AS (
    SELECT a, n, now() - ((($2::bigint * $3 - (a * $2 + n))) * interval '2.6 second') AS at
    FROM generate_series($1::int, $1::int + $4 - 1) a, generate_series(0, $2 - 1) n
)
INSERT INTO posts (uri, cid, author_did, text, created_at, sort_at, like_count, reply_count, repost_count,
                   is_community, langs, tags, record)
SELECT 'at://did:plc:author' || a || '/app.bsky.feed.post/p' || n, 'bafypost' || a || 'x' || n,
       'did:plc:author' || a, 'Post ' || n || ' from author ' || a || ' about soil, light and water', at, at,
       (a + n) % 17, n % 3, (a * n) % 5, n % 10 = 0, '{en}',
       CASE WHEN n % 10 = 0 THEN '{cannabis}'::text[] ELSE '{}'::text[] END,
       jsonb_build_object('$type', 'app.bsky.feed.post', 'text',
                          'Post ' || n || ' from author ' || a || ' about soil, light and water',
                          'createdAt', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                          'langs', jsonb_build_array('en'))
FROM rows
"""
ITEMS = """
INSERT INTO feed_items (uri, type, post_uri, originator_did, sort_at)
SELECT uri, 'post', uri, author_did, sort_at FROM posts WHERE author_did = ANY($1::text[])
"""
LIKES = """
INSERT INTO viewer_post_state (viewer_did, post_uri, like_uri)
SELECT $1, p.uri, 'at://' || $1 || '/app.bsky.feed.like/l' || md5(p.uri) FROM posts p
WHERE p.author_did = ANY($2::text[]) AND p.like_count = 3
"""


async def seed(dsn: str, authors: int, per_author: int, follows: int) -> None:
    """Profiles, the member and its follows, then posts and feed items in batches of 1,000 authors."""
    conn = await asyncpg.connect(dsn, command_timeout=3600)
    try:
        began = time.perf_counter()
        await conn.execute("SET synchronous_commit = off")
        values = {"authors": authors, "per_author": per_author, "member": MEMBER, "follows": follows}
        for statement, names in SEED:
            await conn.execute(statement, *[values[name] for name in names])
        batch = 1000
        for first in range(1, authors + 1, batch):
            count = min(batch, authors - first + 1)
            await conn.execute(POSTS, first, per_author, authors, count)
            dids = [f"did:plc:author{a}" for a in range(first, first + count)]
            await conn.execute(ITEMS, dids)
            followed = [d for d in dids if int(d.removeprefix("did:plc:author")) <= follows]
            if followed:
                await conn.execute(LIKES, MEMBER, followed)
        # A database that has been serving for a while is vacuumed and its hint bits are set; right
        # after a bulk load autovacuum and the first readers do that work, and the load runs that
        # came first were measured paying for it.
        await conn.execute("VACUUM (ANALYZE)")
        posts = await conn.fetchval("SELECT count(*) FROM posts")
        timeline = await conn.fetchval("SELECT count(*) FROM timeline_items WHERE member_did = $1", MEMBER)
        print(f"seeded {posts} posts, {timeline} in the member's timeline, in {time.perf_counter() - began:.0f} s")
    finally:
        await conn.close()


async def bench(
    args: argparse.Namespace, env: dict[str, str], port: int, log: Path, tokens: dict[str, str], pg_data: Path | None
) -> None:
    """Start the gateway, check the answers, measure, print."""
    postmaster = int((pg_data / "postmaster.pid").read_text().split()[0]) if pg_data else None
    base = f"http://127.0.0.1:{port}"
    timeline = f"{base}/feed/xrpc/app.bsky.feed.getTimeline?limit={args.limit}"
    # name -> (url, the viewer's token)
    targets = {
        "getTimeline": (timeline, tokens[MEMBER]),
        "/feed/following": (f"{base}/feed/api/feed/following?limit={args.limit}", tokens[MEMBER]),
        "getTimeline, empty timeline": (timeline, tokens[NEWCOMER]),
    }
    with gateway(env, port, log) as process:
        await wait_healthy(base, process)
        async with httpx.AsyncClient() as client:
            for name, (url, token) in targets.items():
                page = await client.get(url, headers={"Authorization": f"Bearer {token}"})
                page.raise_for_status()
                body = page.json()
                print(
                    f"{name}: {len(body['feed'])} items per page, {len(page.content)} bytes, cursor {'cursor' in body}"
                )
        print(cpu_reference())
        tool = "wrk" if shutil.which("wrk") and not args.python_client else "python"
        paces = args.pace_ms if tool == "wrk" else [0]
        for name, (url, token) in targets.items():
            auth = {"Authorization": f"Bearer {token}"}
            for connections in args.connections:
                for pace_ms in paces:
                    run = argparse.Namespace(**{**vars(args), "connections": connections})
                    for round_ in range(args.rounds):
                        label = f"{name} [{tool}, round {round_ + 1}]"
                        await load_run(label, url, auth, run, tool, process.pid, postmaster, pace_ms)
        print(f"gateway after the load runs: {memory(process.pid)}")
        print(cpu_reference())


def main() -> None:
    """Parse options, prepare and seed a database, run the measurements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--authors", type=int, default=20_000)
    parser.add_argument("--posts-per-author", type=int, default=50)
    parser.add_argument("--follows", type=int, default=1_000)
    parser.add_argument("--limit", type=int, default=30, help="page size asked for (the Bluesky app asks 30)")
    parser.add_argument("--connections", type=int, nargs="+", default=[50], help="one run per count given")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument(
        "--pace-ms", type=int, nargs="+", default=[0], help="with wrk: pause per connection between requests; 0 = none"
    )
    parser.add_argument("--rounds", type=int, default=2, help="load runs per endpoint (the first also warms up)")
    parser.add_argument("--python-client", action="store_true", help="use the Python client even if wrk exists")
    parser.add_argument(
        "--log-level", default="warning", help="the gateway's ONEBOX_LOG_LEVEL; info writes an access line per request"
    )
    args = parser.parse_args()

    with box(["feed"], ONEBOX_LOG_LEVEL=args.log_level) as scratch:
        settings, env, secret = scratch.settings, scratch.env, scratch.secret
        asyncio.run(seed(feed_dsn(settings), args.authors, args.posts_per_author, args.follows))
        issuer = TokenService(signing_key(secret, "feed"), "feed")
        tokens = {viewer: issuer.issue_access(viewer, ttl=3600) for viewer in (MEMBER, NEWCOMER)}
        log = scratch.tmp / "gateway.log"
        try:
            asyncio.run(bench(args, env, free_port(), log, tokens, scratch.pg_data))
        except Exception:
            print("---- end of the gateway's log ----\n" + "\n".join(log.read_text().splitlines()[-30:]))
            raise


if __name__ == "__main__":
    main()
