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
import statistics
import sys
import time
from pathlib import Path

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
    ("users: prefix of every handle", "/feed/api/search", {"q": "a", "type": "users"}),
    ("users: one handle", "/feed/api/search", {"q": "author1999.bench.test", "type": "users"}),
    ("users: in none", "/feed/api/search", {"q": "zzzz", "type": "users"}),
]


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
        token = TokenService(signing_key(scratch.secret, "feed"), "feed").issue_access(MEMBER, ttl=3600)
        log = scratch.tmp / "gateway.log"
        try:
            asyncio.run(bench(args, scratch.env, free_port(), log, token))
        except Exception:
            print("---- end of the gateway's log ----\n" + "\n".join(log.read_text().splitlines()[-30:]))
            raise


if __name__ == "__main__":
    main()
