"""Whether a host may be called from the box: only addresses on the public internet.

A URL a user hands us (a Mastodon instance, a web-push endpoint, a PDS its DID document names)
must not make the server call its own loopback, the LAN or a cloud metadata address on that
user's behalf.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Collection, Iterable
from typing import Any

import httpcore
import httpx


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


class _PublicOnlyBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to vetted addresses (IP literals included)."""

    def __init__(self, trusted: Collection[str]) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._trusted = trusted

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if not trusts(self._trusted, host, port):
            addresses = await resolve(host, port)
            if not addresses or not all(is_public(address) for address in addresses):
                raise httpcore.ConnectError(f"{host} is not an address we connect to")
            host = addresses[0]  # the address vetted, so a second lookup can't answer differently
        return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("no unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def public_only_transport(trusted: Collection[str], limits: httpx.Limits | None = None) -> httpx.AsyncHTTPTransport:
    """An httpx transport that connects only to public addresses, or to ``trusted`` hosts.

    For URLs a user controls through data (a DID document naming its PDS, a did:web host): each
    connection is vetted when it is made, after any redirect and whatever DNS answers then. TLS
    still verifies the name in the URL (httpcore passes it as the server name).
    """
    limits = limits or httpx.Limits()
    transport = httpx.AsyncHTTPTransport(limits=limits)
    # httpx takes no network backend; its pool is httpcore's, which does.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=_PublicOnlyBackend(trusted),
    )
    return transport
