"""Fixtures for the REST tests (shared with the XRPC and live tests)."""

from tests.tenants.feed.api.fixtures import fake_pds, feed_db, feed_server, hose, http, member

__all__ = ["fake_pds", "feed_db", "feed_server", "hose", "http", "member"]
