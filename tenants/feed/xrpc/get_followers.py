"""``app.bsky.graph.getFollowers``: accounts following the actor, newest follow first, and the subject."""

from __future__ import annotations

from tenants.feed.xrpc.graph_page import graph_method

METHOD = graph_method("followers")
