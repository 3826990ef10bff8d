"""``com.atproto.server.describeServer``: this service's DID and sign-up facts (none: accounts live on PDSes)."""

from __future__ import annotations

from starlette.responses import Response

from shared.http.responses import json_response
from tenants.feed.xrpc.base import Call, Method


async def handle(call: Call) -> Response:
    did = call.av.api.feed_service_did or f"did:web:{call.request.url.hostname}"
    return json_response({"did": did, "availableUserDomains": [], "inviteCodeRequired": True, "links": {}})


METHOD = Method("query", handle)
