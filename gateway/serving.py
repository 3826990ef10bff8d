"""How uvicorn serves the gateway: the options ``onebox serve`` and the tests' server share."""

from __future__ import annotations

from typing import Any

from gateway.http_protocol import HttpProtocol

# How long an idle keep-alive connection is kept (uvicorn's default, stated because the front must
# stay below it: ops/nginx/onebox.conf drops its idle upstream connections sooner, so it never
# sends a request on one the gateway is closing).
KEEP_ALIVE_S = 5

# Clients send small control messages (feed: 16 KB at most; Socket.IO: 64 KB, engineio's own cap).
# uvicorn's default would assemble messages of up to 16 MB per socket: 16 sockets of one visitor
# would push the gateway past its memory cap.
WS_MAX_MESSAGE = 64 * 1024


def uvicorn_options() -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` / ``uvicorn.Config`` beyond the app, host and port."""
    return {
        "http": HttpProtocol,
        "timeout_keep_alive": KEEP_ALIVE_S,
        "ws": "websockets-sansio",
        "ws_max_size": WS_MAX_MESSAGE,
        # Our frames are small JSON; permessage-deflate's zlib state costs ~40 KB per socket
        # (2,000 sockets: 80 -> 40 KB each, measured), for next to no saving on the wire.
        "ws_per_message_deflate": False,
    }
