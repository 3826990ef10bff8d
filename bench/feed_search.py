"""Feed search figures: words of every frequency over 1,000,000 posts, through the real gateway.

Run: ``.venv/bin/python bench/feed_search.py`` (``--help`` for options). It seeds the same posts as
``bench/feed_timeline.py`` (every post says "about soil, light and water"; author and post numbers
make rarer words), runs ``onebox serve`` (feed only) and times ``GET /feed/api/search`` for posts
and users and ``app.bsky.feed.searchPosts`` with ``sort=latest``: each query ``--repeat`` times one
after another, printing the median and the slowest answer, the status, and the matches on the
first page. A CPU reference before and after tells how fast the machine was.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.box import box, cpu_reference, free_port  # noqa: E402
from bench.feed_timeline import MEMBER, seed  # noqa: E402
from bench.wishlist_api import gateway, memory, wait_healthy  # noqa: E402
from gateway.context import signing_key  # noqa: E402
from shared.auth.tokens import TokenService  # noqa: E402
from tenants.feed.indexer.main import feed_dsn  # noqa: E402

# (label, path, parameters): from a word in every post to one in none.
QUERIES = [
    ("posts: in every post", "/feed/api/search", {"q": "soil"}),
    ("posts: phrase in every post", "/feed/api/search", {"q": '"about soil"'}),
    ("posts: every post, minus every post", "/feed/api/search", {"q": "soil -water"}),
    ("posts: in ~2% of posts", "/feed/api/search", {"q": "17"}),
    ("posts: in ~0.1% of posts", "/feed/api/search", {"q": "1234"}),
    ("posts: in one author's posts", "/feed/api/search", {"q": "from author 1999"}),
    ("posts: in none", "/feed/api/search", {"q": "zzzz"}),
    ("searchPosts latest: in every post", "/feed/xrpc/app.bsky.feed.searchPosts", {"q": "soil", "sort": "latest"}),
    ("searchPosts latest: in none", "/feed/xrpc/app.bsky.feed.searchPosts", {"q": "zzzz", "sort": "latest"}),
    ("filter only: a tag on 10% of posts", "/feed/xrpc/app.bsky.feed.searchPosts", {"q": "#cannabis"}),
    ("filter only: a tag on no post", "/feed/xrpc/app.bsky.feed.searchPosts", {"q": "#orchids"}),
    (
        "filter only: mentions in 0.2% of posts",
        "/feed/xrpc/app.bsky.feed.searchPosts",
        {"q": "mentions:did:plc:author7"},
    ),
    ("filter only: mentions in one post", "/feed/xrpc/app.bsky.feed.searchPosts", {"q": "mentions:did:plc:author9"}),
    ("filter only: mentions in none", "/feed/xrpc/app.bsky.feed.searchPosts", {"q": "mentions:did:plc:author8"}),
    ("filter only: a language of every post", "/feed/xrpc/app.bsky.feed.searchPosts", {"q": "lang:en"}),
    ("filter only: a language of no post", "/feed/xrpc/app.bsky.feed.searchPosts", {"q": "lang:eu"}),
    ("filter only: a link domain in one post", "/feed/xrpc/app.bsky.feed.searchPosts", {"q": "domain:example.com"}),
    ("users: prefix of every handle", "/feed/api/search", {"q": "a", "type": "users"}),
    ("users: one handle", "/feed/api/search", {"q": "author1999.bench.test", "type": "users"}),
    ("users: in none", "/feed/api/search", {"q": "zzzz", "type": "users"}),
]


def mention(did: str) -> str:
    """A facets value mentioning ``did`` (as app.bsky.richtext.facet writes it)."""
    feature = {"$type": "app.bsky.richtext.facet#mention", "did": did}
    return json.dumps([{"index": {"byteStart": 0, "byteEnd": 5}, "features": [feature]}])


async def add_facets(dsn: str) -> None:
    """Mentions and links on a few of the seeded posts, for the filter-only searches."""
    link = {"$type": "app.bsky.richtext.facet#link", "uri": "https://www.example.com/soil"}
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "UPDATE posts SET facets = $1::jsonb WHERE uri LIKE '%/p7' AND author_did LIKE '%0'",
            mention("did:plc:author7"),
        )
        await conn.execute(
            "UPDATE posts SET facets = $1::jsonb WHERE uri = 'at://did:plc:author3/app.bsky.feed.post/p3'",
            mention("did:plc:author9"),
        )
        await conn.execute(
            "UPDATE posts SET facets = $1::jsonb WHERE uri = 'at://did:plc:author4/app.bsky.feed.post/p4'",
            json.dumps([{"index": {"byteStart": 0, "byteEnd": 5}, "features": [link]}]),
        )
        await conn.execute("VACUUM ANALYZE posts")
        sizes = await conn.fetch(
            "SELECT indexrelid::regclass::text AS name, pg_relation_size(indexrelid) / 1048576.0 AS mb "
            "FROM pg_index WHERE indrelid = 'posts'::regclass ORDER BY 2 DESC"
        )
        print("indexes of posts: " + ", ".join(f"{row['name']} {row['mb']:.1f} MB" for row in sizes))
    finally:
        await conn.close()


async def bench(args: argparse.Namespace, env: dict[str, str], port: int, log: Path, token: str) -> None:
    """Start the gateway, time each query, print."""
    base = f"http://127.0.0.1:{port}"
    with gateway(env, port, log) as process:
        await wait_healthy(base, process)
        print(cpu_reference())
        async with httpx.AsyncClient(base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"}) as http:
            for label, path, params in QUERIES:
                times, answer = [], None
                for _ in range(args.repeat):
                    began = time.perf_counter()
                    answer = await http.get(path, params=params)
                    times.append((time.perf_counter() - began) * 1000)
                assert answer is not None
                body = answer.json()
                found = len(body.get("posts", body.get("users", body.get("actors", []))))
                print(
                    f"{label:40} {answer.status_code}  {found:3} on the page  "
                    f"median {statistics.median(times):7.1f} ms  slowest {max(times):7.1f} ms"
                )
        print(f"gateway after the searches: {memory(process.pid)}")
        print(cpu_reference())


def main() -> None:
    """Parse options, prepare and seed a database, run the searches."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--authors", type=int, default=20_000)
    parser.add_argument("--posts-per-author", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5, help="times each query is sent")
    args = parser.parse_args()
    with box(["feed"]) as scratch:
        asyncio.run(seed(feed_dsn(scratch.settings), args.authors, args.posts_per_author, 1_000))
        asyncio.run(add_facets(feed_dsn(scratch.settings)))
        token = TokenService(signing_key(scratch.secret, "feed"), "feed").issue_access(MEMBER, ttl=3600)
        log = scratch.tmp / "gateway.log"
        try:
            asyncio.run(bench(args, scratch.env, free_port(), log, token))
        except Exception:
            print("---- end of the gateway's log ----\n" + "\n".join(log.read_text().splitlines()[-30:]))
            raise


if __name__ == "__main__":
    main()
