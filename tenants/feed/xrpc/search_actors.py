"""``app.bsky.actor.searchActors``: accounts whose handle, name or description match (prefixes)."""

from __future__ import annotations

from starlette.responses import Response

from shared.http.responses import raw_json_response
from tenants.feed import params
from tenants.feed.db import acquire
from tenants.feed.views.search import search_actors
from tenants.feed.xrpc.base import Call, Method


async def handle(call: Call) -> Response:
    viewer = await call.maybe_viewer()
    # ``term`` is the lexicon's deprecated name for ``q``.
    q = params.required(call.params, "q" if call.params.get("q") else "term", max_length=300)
    limit = call.limit(default=25)
    async with acquire(call.av.ctx) as conn:
        page = await search_actors(conn, call.av.cursors, q, viewer, limit, call.params.get("cursor"))
    return raw_json_response(page.body("actors"))


METHOD = Method("query", handle)
