"""The caller's address, for rate limits: the peer, or behind our own proxy the address it saw."""

from __future__ import annotations

from starlette.types import Scope


def client_ip(scope: Scope, trust_proxy: bool) -> str:
    """The peer's address; with ``trust_proxy``, the last ``X-Forwarded-For`` entry.

    The last entry is the one our proxy added (nginx's ``$remote_addr``). Entries before it came
    from the client, which can write anything there, so keying a rate limit on them would let each
    request claim a new address.
    """
    if trust_proxy:
        for name, value in scope["headers"]:
            if name == b"x-forwarded-for":
                last: str = value.decode("latin-1").rsplit(",", 1)[-1].strip()
                if last:
                    return last
    client = scope.get("client")
    return str(client[0]) if client else "unknown"
