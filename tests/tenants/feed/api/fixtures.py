"""Fixtures of the feed API tests: a feed-only app on loopback wired to a fake PDS/PLC, a clean
database, members who signed in through the API, and records indexed as the indexer would.
"""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.context import signing_key
from shared.auth.tokens import TokenService
from shared.settings import Settings
from tenants.feed.indexer.apply import apply_ops, publish
from tenants.feed.indexer.events import decode
from tenants.feed.indexer.main import feed_dsn
from tenants.feed.indexer.processors.base import Effects
from tests.conftest import SECRET
from tests.fakes.firehose import Firehose
from tests.fakes.pds import FakePds
from tests.support.server import serve

ADMIN = "did:plc:admin"
TABLES = (
    "profiles, members, posts, feed_items, likes, reposts, follows, blocks, notifications, viewer_post_state, "
    "viewer_actor_state, push_subscriptions, tombstones, backfill_jobs, indexer_state, pds_sessions, timeline_items, "
    "refresh_tokens"
)


def vapid_key() -> str:
    """A fresh VAPID private key as base64url DER, as ``ONEBOX_VAPID_PRIVATE_KEY`` takes it."""
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return base64.urlsafe_b64encode(der).rstrip(b"=").decode()


@dataclass
class FeedServer:
    """The running app, its base URL and the fake PDS it signs members in at."""

    url: str
    app: Starlette
    pds: FakePds

    @property
    def ctx(self) -> Any:
        return self.app.state.contexts["feed"]


@pytest.fixture(scope="session")
async def fake_pds() -> AsyncIterator[FakePds]:
    async with FakePds().running() as fake:
        yield fake


@pytest.fixture(scope="session")
async def feed_server(make_settings: Callable[..., Settings], fake_pds: FakePds) -> AsyncIterator[FeedServer]:
    """The feed tenant alone, configured through the environment it reads at start-up."""
    env = {
        "ONEBOX_PLC_URL": fake_pds.plc_url,
        "ONEBOX_FEED_HANDLE_RESOLVER": fake_pds.url,
        "ONEBOX_VAPID_PRIVATE_KEY": vapid_key(),
        "ONEBOX_FEED_ADMINS": ADMIN,
        "ONEBOX_FEED_TAGS": "cannabis",
        "ONEBOX_FEED_WS_AUTH_GRACE_S": "0.5",
        "ONEBOX_FEED_WS_HEARTBEAT_S": "0.3",
        # The fake push service listens on loopback; push.example stands for a real one.
        "ONEBOX_FEED_PUSH_TRUSTED_HOSTS": "127.0.0.1,push.example",
    }
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        app = create_app(make_settings(tenants=["feed"]))
    async with serve(app) as url:
        yield FeedServer(url, app, fake_pds)


@pytest.fixture
async def feed_db(feed_server: FeedServer, settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    """A connection to an emptied feed database."""
    conn = await asyncpg.connect(feed_dsn(settings))
    await conn.execute(f"TRUNCATE {TABLES} RESTART IDENTITY")
    feed_server.pds.writes.clear()
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def http(feed_server: FeedServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{feed_server.url}/feed", timeout=15) as client:
        yield client


@dataclass
class Member:
    """A signed-in member: DID, handle and the API's tokens."""

    did: str
    handle: str
    token: str
    refresh: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


MemberFactory = Callable[[str], Any]


@pytest.fixture
def member(feed_server: FeedServer, http: httpx.AsyncClient, feed_db: asyncpg.Connection) -> MemberFactory:
    """``await member("alice")``: an account on the fake PDS, signed in through ``/api/auth/login``."""

    async def make(name: str) -> Member:
        did, handle = f"did:plc:{name}", f"{name}.test"
        feed_server.pds.account(did, handle, f"pw-{name}")
        response = await http.post("/api/auth/login", json={"identifier": handle, "password": f"pw-{name}"})
        assert response.status_code == 200, response.text
        body = response.json()
        return Member(did, handle, body["access_token"], body["refresh_token"])

    return make


def bearer(token: str) -> dict[str, str]:
    """The Authorization header carrying ``token``."""
    return {"Authorization": f"Bearer {token}"}


def foreign_token(subject: str) -> str:
    """A valid access token of another tenant (wishlist)."""
    return TokenService(signing_key(SECRET, "wishlist"), "wishlist").issue_access(subject)


@pytest.fixture
def hose() -> Firehose:
    return Firehose(int(time.time() * 1_000_000) - 600_000_000)


async def index(conn: asyncpg.Connection, events: list[dict[str, Any]], channel: str = "onebox_feed") -> None:
    """Apply Jetstream events exactly as the indexer's writer does (one transaction, then NOTIFY)."""
    ops = [decode(orjson.dumps(event), 1_000_000) for event in events]
    fx = Effects(live=True)
    async with conn.transaction():
        await apply_ops(conn, ops, fx, frozenset({"cannabis"}))
        await publish(conn, channel, fx)


def echo(
    did: str, collection: str, rkey: str, cid: str, record: dict[str, Any], time_us: int, rev: str = "3kecho"
) -> dict[str, Any]:
    """The Jetstream event of a record the PDS stored (``rev``: of the commit that wrote it)."""
    commit = {"rev": rev, "operation": "create", "collection": collection, "rkey": rkey, "record": record,
              "cid": cid}  # fmt: skip
    return {"did": did, "time_us": time_us, "kind": "commit", "commit": commit}


async def name_accounts(conn: asyncpg.Connection, names: dict[str, str]) -> None:
    """Give stored accounts their handles (as identity events would)."""
    for did, handle in names.items():
        await conn.execute(
            "INSERT INTO profiles (did, handle) VALUES ($1, $2) ON CONFLICT (did) DO UPDATE SET handle = $2",
            did,
            handle,
        )
