"""What every XRPC method shares: the call context, its error type and common parameter reads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from shared.http.body import read_json_value
from tenants.feed import params
from tenants.feed.appview import AppView
from tenants.feed.db import acquire
from tenants.feed.sessions import PdsSessions
from tenants.feed.views import actors
from tenants.feed.writes import Writes


class XrpcError(Exception):
    """An error answered as ``{"error": <name>, "message": ...}``."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


def invalid(message: str, error: str = "InvalidRequest") -> XrpcError:
    """400 with an XRPC error name."""
    return XrpcError(400, error, message)


@dataclass
class Call:
    """One XRPC call: the shared context, the request and its parameters."""

    av: AppView
    sessions: PdsSessions
    writes: Writes
    request: Request

    @property
    def params(self) -> QueryParams:
        return self.request.query_params

    async def viewer(self) -> str:
        """The caller's DID (401 without a valid access token)."""
        return await self.av.viewer(self.request)

    async def maybe_viewer(self) -> str | None:
        """The caller's DID when authenticated."""
        return await self.av.maybe_viewer(self.request)

    async def body(self) -> dict[str, Any]:
        """The JSON object input of a procedure."""
        value = await read_json_value(self.request)
        if not isinstance(value, dict):
            raise invalid("Input must be a JSON object.")
        return value

    def limit(self, default: int = 50, maximum: int = 100) -> int:
        return params.limit(self.params, default, maximum)

    async def account(self, name: str = "actor") -> actors.Account:
        """The stored account named by the ``actor`` parameter, whatever its status."""
        value = params.required(self.params, name, max_length=2048)
        async with acquire(self.av.ctx) as conn:
            account = await actors.lookup(conn, value)
        if account is None:
            raise invalid("Profile not found")
        return account

    async def actor(self, name: str = "actor") -> str:
        """The DID of the stored, active account named by ``actor`` (an inactive one is not found, as in Bluesky)."""
        account = await self.account(name)
        if account.status is not None:
            raise invalid("Profile not found")
        return account.did


@dataclass(frozen=True)
class Method:
    """An XRPC method: ``query`` (GET) or ``procedure`` (POST), and its handler."""

    kind: str
    handle: Callable[[Call], Awaitable[Response]]
