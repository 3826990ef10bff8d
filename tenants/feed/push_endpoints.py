"""Where a web push may go: an https push service on the public internet (or a trusted host).

Checked when a member subscribes (a clear 400) and again before each push, since a subscription
stored earlier, or a name that now resolves elsewhere, must not make the box POST to its own
loopback, the LAN or a metadata address. The connection itself goes through
:func:`shared.http.addresses.public_only_connector`.
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit

from shared.errors import ApiError
from shared.http.addresses import is_public, resolve, trusts


async def check_endpoint(endpoint: str, trusted: Collection[str]) -> None:
    """400 unless ``endpoint`` is an https URL whose host resolves to public addresses only (or is trusted)."""
    parts = urlsplit(endpoint)
    try:
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        host, port = None, 0
    if host is None:
        raise ApiError(400, "invalid_push_endpoint", "The push endpoint is not a URL with a host.")
    if trusts(trusted, host, port):
        return
    if parts.scheme != "https":
        raise ApiError(400, "invalid_push_endpoint", "Push endpoints are https URLs of a push service.")
    addresses = await resolve(host, port)
    if not addresses:
        raise ApiError(400, "invalid_push_endpoint", f"The push endpoint's host {host} does not resolve.")
    if not all(is_public(address) for address in addresses):
        raise ApiError(400, "push_endpoint_forbidden", "The push endpoint points at an address we won't send to.")


async def deliverable(endpoint: str, trusted: Collection[str]) -> bool:
    """Whether a push may be sent to ``endpoint`` now."""
    try:
        await check_endpoint(endpoint, trusted)
    except ApiError:
        return False
    return True
