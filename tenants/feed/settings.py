"""Settings of the feed tenant and its indexer (``ONEBOX_*`` variables, same env files as the rest)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode

from shared.settings import env_config

# Bluesky's public Jetstream instances; the indexer fails over between them in order.
PUBLIC_JETSTREAMS = [
    "wss://jetstream1.us-east.bsky.network/subscribe",
    "wss://jetstream2.us-east.bsky.network/subscribe",
    "wss://jetstream1.us-west.bsky.network/subscribe",
    "wss://jetstream2.us-west.bsky.network/subscribe",
]

# The cannabis community's hashtags (compared lower-case, without '#').
COMMUNITY_TAGS = [
    "cannabis",
    "cannabiscommunity",
    "cannabisculture",
    "marijuana",
    "weed",
    "420",
    "thc",
    "cbd",
    "hemp",
    "mmj",
    "medicalmarijuana",
    "ganja",
    "stoner",
    "stonerfam",
    "legalizeit",
    "growyourown",
    "homegrow",
    "edibles",
]


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class FeedSettings(BaseSettings):
    """What the feed's indexer and API read besides the shared settings."""

    model_config = env_config()

    # Comma list of Jetstream ``/subscribe`` URLs; empty (``ONEBOX_JETSTREAM_URL=``) leaves the indexer idle.
    jetstream_url: Annotated[list[str], NoDecode] = PUBLIC_JETSTREAMS
    # How far back Jetstream can replay; an older stored cursor triggers a re-backfill.
    jetstream_replay_hours: float = 72.0
    # Resume this far before the stored cursor: another instance stamps the same events differently.
    jetstream_rewind_s: float = 5.0
    feed_tags: Annotated[list[str], NoDecode] = COMMUNITY_TAGS
    plc_url: str = "https://plc.directory"
    # Any service answering com.atproto.identity.resolveHandle for every handle (the Bluesky entryway
    # does): sign-in resolves handles there, and handles from DID documents are checked against it.
    feed_handle_resolver: str = "https://bsky.social"

    vapid_private_key: SecretStr | None = None
    vapid_subject: str = "mailto:admin@localhost"

    # A batch is written when it holds this many kept records or is this old.
    feed_batch_ops: int = 1000
    feed_batch_ms: int = 200
    feed_queue_batches: int = 4
    feed_backfill_concurrency: int = 4
    feed_backfill_page: int = 100
    feed_backfill_attempts: int = 6
    feed_http_timeout: float = 15.0
    feed_push_queue: int = 1000
    # Hosts ("host" or "host:port") a push subscription may name though they are not a public
    # https service: a push service on the LAN, the tests' fake. Everything else must resolve to
    # public addresses only, or a member could make the box POST to its own loopback or LAN.
    feed_push_trusted_hosts: Annotated[list[str], NoDecode] = []
    # Hosts a DID document may name as a PDS (or a did:web may live on) though they are not public:
    # a PDS on the LAN. The PLC directory's and the handle resolver's hosts are trusted already.
    # Everything else must resolve to public addresses, or anyone signing in (or followed) with a
    # DID document of their own could make the box call its loopback, LAN or a metadata address.
    feed_pds_trusted_hosts: Annotated[list[str], NoDecode] = []
    # Lexicon limit of app.bsky.feed.post#text is 3000 bytes; whole frames above this are refused.
    feed_max_frame_bytes: int = 100_000
    # Bloom filter of accounts that own stored records: 2**bits bits (2**24 = 2 MiB).
    feed_bloom_bits: int = 24

    @field_validator("jetstream_url", "feed_tags", "feed_push_trusted_hosts", "feed_pds_trusted_hosts", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _split(value)

    @field_validator("feed_tags")
    @classmethod
    def _normalise_tags(cls, value: list[str]) -> list[str]:
        return [tag.lstrip("#").lower() for tag in value]


def network_trusted(feed: FeedSettings) -> frozenset[str]:
    """Hosts identity and PDS calls may reach though not public: the operator's own settings."""
    hosts = {urlsplit(url).hostname for url in (feed.plc_url, feed.feed_handle_resolver)}
    return frozenset({host for host in hosts if host} | set(feed.feed_pds_trusted_hosts))
