"""``com.atproto.server.createSession``: sign in with a Bluesky handle or DID and an app password.

The password is checked by the account's own PDS; the answer is a onebox session that SDKs use
against ``/feed/xrpc`` (no ``didDoc``, so they keep talking to this service).
"""

from __future__ import annotations

from starlette.responses import Response

from shared.http.responses import json_response
from tenants.feed.signin import sign_in
from tenants.feed.xrpc.base import Call, Method, invalid
from tenants.feed.xrpc.session_tokens import session_pair


async def handle(call: Call) -> Response:
    body = await call.body()
    identifier, password = body.get("identifier"), body.get("password")
    if not isinstance(identifier, str) or not identifier.strip() or len(identifier) > 253:
        raise invalid("identifier must be a handle or DID")
    if not isinstance(password, str) or not password or len(password) > 256:
        raise invalid("password is required")
    session, refresh = await sign_in(call.av, call.sessions, identifier, password, call.av.xrpc_refresh)
    return json_response(session_pair(call.av, session.did, session.handle, refresh))


METHOD = Method("procedure", handle)
