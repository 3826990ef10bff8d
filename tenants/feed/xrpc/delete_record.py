"""``com.atproto.repo.deleteRecord``: proxied to the member's PDS, then removed from the index.

``swapRecord`` and ``swapCommit`` go to the PDS, which checks them; its ``commit`` comes back,
and its refusals (``InvalidSwap``) keep their names.
"""

from __future__ import annotations

from starlette.responses import Response

from shared.http.responses import json_response
from tenants.feed.xrpc.base import Call, Method, invalid
from tenants.feed.xrpc.repo import conditions, own_repo


async def handle(call: Call) -> Response:
    viewer = await call.viewer()
    body = await call.body()
    await own_repo(call, viewer, body.get("repo"))
    collection, rkey = body.get("collection"), body.get("rkey")
    if not isinstance(collection, str) or not isinstance(rkey, str) or not 0 < len(rkey) <= 512 or "/" in rkey:
        raise invalid("collection and rkey are required")
    checks = conditions(body, ("swapRecord", "swapCommit"))
    answered = await call.writes.delete(viewer, collection, rkey, checks)
    return json_response(answered)


METHOD = Method("procedure", handle)
