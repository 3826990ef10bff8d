"""A recorded Jetstream stream with the real firehose's mix, for the feed indexer bench.

Mostly likes, a few percent posts, follows, reposts, deletes, profile, identity and account
events, from a large population in which the community (members, the accounts they follow,
tagged posts) is a small minority, as on the real network.

    .venv/bin/python bench/feed_stream.py --events 100000 --out var/bench/stream.jsonl
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

POPULATION = 2_000_000


def did(n: int) -> str:
    """The DID of account number ``n``."""
    return f"did:plc:{n:024x}"


@dataclass
class World:
    """Who the community is: members and the accounts they follow (account numbers)."""

    members: list[int]
    followees: list[int]

    @classmethod
    def make(cls, rng: random.Random, members: int = 200, followees: int = 5000) -> World:
        """A community of ``members`` following ``followees`` accounts in all."""
        chosen = rng.sample(range(POPULATION), members + followees)
        return cls(chosen[:members], chosen[members:])


def _iso(time_us: int) -> str:
    return datetime.fromtimestamp(time_us / 1_000_000, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def events(world: World, count: int, start_us: int, seed: int = 1, step_us: int = 100) -> Iterator[dict[str, object]]:
    """``count`` events stamped from ``start_us`` on, ``step_us`` apart."""
    rng = random.Random(seed)
    recent: list[str] = []  # recent post URIs: what people like and reply to
    created: list[tuple[str, str, str]] = []  # (did, collection, rkey) that may be deleted
    time_us = start_us
    for serial in range(count):
        time_us += step_us
        roll = rng.random()
        if roll < 0.002:
            author = rng.choice(world.members)
        elif roll < 0.012:
            author = rng.choice(world.followees)
        else:
            author = rng.randrange(POPULATION)
        actor = did(author)
        rkey = f"3l{serial:011d}"
        kind = rng.random()
        record: dict[str, object] | None
        if kind < 0.06 or not recent:
            collection = "app.bsky.feed.post"
            text = f"post number {serial} about nothing much at all"
            if rng.random() < 0.01:
                text += " #cannabis"
            record = {"$type": collection, "text": text, "createdAt": _iso(time_us), "langs": ["en"]}
            if recent and rng.random() < 0.3:
                parent = rng.choice(recent)
                record["reply"] = {"parent": {"uri": parent, "cid": "bafyp"}, "root": {"uri": parent, "cid": "bafyr"}}
            recent.append(f"at://{actor}/{collection}/{rkey}")
            if len(recent) > 5000:
                recent.pop(0)
        elif kind < 0.77:
            collection = "app.bsky.feed.like"
            record = {"$type": collection, "subject": {"uri": rng.choice(recent), "cid": "bafys"},
                      "createdAt": _iso(time_us)}  # fmt: skip
        elif kind < 0.83:
            collection = "app.bsky.feed.repost"
            record = {"$type": collection, "subject": {"uri": rng.choice(recent), "cid": "bafys"},
                      "createdAt": _iso(time_us)}  # fmt: skip
        elif kind < 0.93:
            collection = "app.bsky.graph.follow"
            record = {"$type": collection, "subject": did(rng.randrange(POPULATION)), "createdAt": _iso(time_us)}
        elif kind < 0.94:
            collection = "app.bsky.graph.block"
            record = {"$type": collection, "subject": did(rng.randrange(POPULATION)), "createdAt": _iso(time_us)}
        elif kind < 0.95:
            collection, rkey = "app.bsky.actor.profile", "self"
            record = {"$type": collection, "displayName": f"Person {author}", "description": "hello"}
        elif kind < 0.96:
            yield {"did": actor, "time_us": time_us, "kind": "identity",
                   "identity": {"did": actor, "handle": f"p{author}.bsky.social", "seq": serial,
                                "time": _iso(time_us)}}  # fmt: skip
            continue
        elif created:
            victim = created.pop(rng.randrange(len(created)))
            yield {"did": victim[0], "time_us": time_us, "kind": "commit",
                   "commit": {"rev": f"r{serial}", "operation": "delete", "collection": victim[1],
                              "rkey": victim[2]}}  # fmt: skip
            continue
        else:
            continue
        if collection != "app.bsky.actor.profile" and rng.random() < 0.05 and len(created) < 10000:
            created.append((actor, collection, rkey))
        yield {"did": actor, "time_us": time_us, "kind": "commit",
               "commit": {"rev": f"r{serial}", "operation": "create", "collection": collection, "rkey": rkey,
                          "record": record, "cid": f"bafy{serial}"}}  # fmt: skip


def frames(world: World, count: int, start_us: int, seed: int = 1, step_us: int = 100) -> list[str]:
    """The stream as Jetstream's text frames."""
    return [orjson.dumps(e).decode() for e in events(world, count, start_us, seed, step_us)]


def main() -> None:
    """Write a recorded stream as JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("var/bench/stream.jsonl"))
    args = parser.parse_args()
    world = World.make(random.Random(args.seed))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    start_us = int(datetime.now(UTC).timestamp() * 1_000_000) - args.events * 100
    with args.out.open("w") as out:
        for frame in frames(world, args.events, start_us, args.seed):
            out.write(frame + "\n")
    print(f"wrote {args.events} events to {args.out}")


if __name__ == "__main__":
    main()
