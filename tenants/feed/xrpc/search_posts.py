"""``app.bsky.feed.searchPosts``: full-text search of stored posts (``sort`` latest, the lexicon's default, or top),
with the lexicon's filters (author, mentions, lang, since, until, tag, domain, url) and the same in ``q``.
"""

from __future__ import annotations

from starlette.responses import Response

from shared.http.responses import raw_json_response
from tenants.feed import params, search_filters
from tenants.feed.db import acquire
from tenants.feed.views.search import search_posts
from tenants.feed.xrpc.base import Call, Method


async def handle(call: Call) -> Response:
    viewer = await call.maybe_viewer()
    q = params.required(call.params, "q", max_length=300)
    latest = params.open_choice(call.params, "sort", ("top", "latest"), "latest") == "latest"
    words, filters = search_filters.parse(call.params, q)
    limit = call.limit(default=25)
    async with acquire(call.av.ctx) as conn:
        page = await search_posts(
            conn, call.av.cursors, words, filters, viewer, limit, call.params.get("cursor"), latest
        )
    return raw_json_response(page.body("posts"))


METHOD = Method("query", handle)
