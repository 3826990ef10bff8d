"""``getFollows`` and ``getFollowers``: one page of an actor's follow graph, plus the subject."""

from __future__ import annotations

from typing import Literal

from starlette.responses import Response

from shared.http.responses import raw_json_response
from tenants.feed.db import acquire
from tenants.feed.views.actors import graph, profiles
from tenants.feed.xrpc.base import Call, Method


def graph_method(direction: Literal["follows", "followers"]) -> Method:
    """The XRPC query listing the accounts ``direction`` of the actor, newest follow first."""

    async def handle(call: Call) -> Response:
        viewer = await call.maybe_viewer()
        did = await call.actor()
        limit = call.limit()
        async with acquire(call.av.ctx) as conn:
            page = await graph(conn, call.av.cursors, direction, did, viewer, limit, call.params.get("cursor"))
            subject = await profiles(conn, [did], viewer, level=1)
        return raw_json_response(page.body(direction, b'"subject":' + subject[1:-1].encode() + b","))

    return Method("query", handle)
