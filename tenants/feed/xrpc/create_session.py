"""``com.atproto.server.createSession``: sign in with a Bluesky handle or DID and an app password.

The password is checked by the account's own PDS; the answer is a onebox session that SDKs use
against ``/feed/xrpc`` (no ``didDoc``, so they keep talking to this service). The lexicon's
``authFactorToken`` goes to the PDS, and its refusals ``AuthFactorTokenRequired`` (two-factor
sign-in: the client asks for the emailed code) and ``AccountTakedown`` keep their names.
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
    token = body.get("authFactorToken")
    if not isinstance(identifier, str) or not identifier.strip() or len(identifier) > 253:
        raise invalid("identifier must be a handle or DID")
    if not isinstance(password, str) or not password or len(password) > 256:
        raise invalid("password is required")
    if token is not None and (not isinstance(token, str) or len(token) > 256):
        raise invalid("authFactorToken must be a string")
    session, refresh = await sign_in(call.av, call.sessions, identifier, password, call.av.xrpc_refresh, token or None)
    return json_response(session_pair(call.av, session.did, session.handle, refresh))


METHOD = Method("procedure", handle)
