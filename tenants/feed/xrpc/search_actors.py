"""``app.bsky.actor.searchActors``: accounts whose handle, name or description match (prefixes)."""

from __future__ import annotations

from starlette.responses import Response

from shared.http.responses import json_response, raw_json_response
from tenants.feed import params
from tenants.feed.db import acquire
from tenants.feed.views.search import search_actors
from tenants.feed.xrpc.base import Call, Method


async def handle(call: Call) -> Response:
    viewer = await call.maybe_viewer()
    # ``term`` is the lexicon's deprecated name for ``q``; neither is required there, and the
    # AppView answers an empty search rather than refusing it: nothing matches no words.
    name = "q" if call.params.get("q", "").strip() else "term"
    limit = call.limit(default=25)
    if not call.params.get(name, "").strip():
        return json_response({"actors": []})
    q = params.required(call.params, name, max_length=300)
    async with acquire(call.av.ctx) as conn:
        page = await search_actors(conn, call.av.cursors, q, viewer, limit, call.params.get("cursor"))
    return raw_json_response(page.body("actors"))


METHOD = Method("query", handle)
