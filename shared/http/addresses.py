"""Whether a host may be called from the box: only addresses on the public internet.

A URL a user hands us (a Mastodon instance, a web-push endpoint) must not make the server call
its own loopback, the LAN or a cloud metadata address on that user's behalf.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket


def is_public(address: str) -> bool:
    """True for a globally routable unicast address (IPv4-mapped IPv6 judged as IPv4)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def resolve(host: str, port: int, timeout: float = 5.0) -> list[str]:
    """The addresses ``host`` resolves to; empty when it does not resolve in ``timeout`` seconds."""
    try:
        infos = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=timeout
        )
    except (OSError, TimeoutError, UnicodeError):
        return []
    return [str(info[4][0]) for info in infos]
