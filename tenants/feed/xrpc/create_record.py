"""``com.atproto.repo.createRecord``: proxied to the member's PDS, then indexed at once.

``swapCommit`` and ``validate`` go to the PDS, which checks them; its answer's ``commit`` and
``validationStatus`` come back, and its refusals (``InvalidSwap``) keep their names.
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
    collection, record, rkey = body.get("collection"), body.get("record"), body.get("rkey")
    if not isinstance(collection, str) or not isinstance(record, dict):
        raise invalid("collection (NSID) and record (object) are required")
    if rkey is not None and (not isinstance(rkey, str) or not 0 < len(rkey) <= 512 or "/" in rkey):
        raise invalid("rkey must be a record key")
    checks = conditions(body, ("swapCommit",), validate=True)
    written = await call.writes.create(viewer, collection, record, rkey, checks)
    return json_response({"validationStatus": "valid", **written})


METHOD = Method("procedure", handle)
