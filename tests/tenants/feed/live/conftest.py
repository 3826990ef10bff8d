"""The feed API fixtures (see tests/tenants/feed/api/fixtures.py)."""

from tests.tenants.feed.api.fixtures import fake_pds, feed_db, feed_server, hose, http, member

__all__ = ["fake_pds", "feed_db", "feed_server", "hose", "http", "member"]
