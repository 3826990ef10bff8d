"""Whether a host may be called from the box: only addresses on the public internet.

A URL a user hands us (a Mastodon instance, a web-push endpoint) must not make the server call
its own loopback, the LAN or a cloud metadata address on that user's behalf.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Collection
from typing import Any


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


def trusts(trusted: Collection[str], host: str, port: int) -> bool:
    """Whether ``host`` (or ``host:port``) is in an operator's list of hosts exempt from the check."""
    return host in trusted or f"{host}:{port}" in trusted


def public_only_connector(trusted: Collection[str]) -> Any:
    """An aiohttp connector whose name lookups fail for names that resolve to a non-public address.

    Checked when the connection is made, so a name that re-resolves to a private address after
    it was vetted (DNS rebinding) is still refused. aiohttp skips the resolver for IP literals:
    vet those before sending (:func:`is_public`). aiohttp is imported here, when first needed.
    """
    import aiohttp
    from aiohttp.abc import AbstractResolver, ResolveResult

    class PublicOnly(AbstractResolver):
        def __init__(self) -> None:
            self._inner = aiohttp.ThreadedResolver()

        async def resolve(
            self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
        ) -> list[ResolveResult]:
            results = await self._inner.resolve(host, port, family)
            if not trusts(trusted, host, port) and not all(is_public(r["host"]) for r in results):
                raise OSError(f"{host} resolves to an address we won't connect to")
            return results

        async def close(self) -> None:
            await self._inner.close()

    return aiohttp.TCPConnector(resolver=PublicOnly())
