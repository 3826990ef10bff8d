"""The few AT Protocol HTTP calls backfill needs: DID resolution and ``listRecords``, with retries."""

from __future__ import annotations

import asyncio
import random
from typing import Any
from urllib.parse import unquote

import httpx

from shared.auth.bluesky import INVALID_HANDLE

RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}
MAX_RETRY_AFTER_S = 60.0


class Permanent(Exception):
    """The request can never succeed as asked (unknown DID or repo, bad document)."""


class Transient(Exception):
    """Still failing after the retries; the job is retried later."""


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER_S)
    except ValueError:
        return None


async def get_json(http: httpx.AsyncClient, url: str, params: dict[str, Any], attempts: int) -> Any:
    """GET a JSON document, retrying 429/5xx and network errors with exponential backoff."""
    delay = 0.25
    for attempt in range(attempts):
        wait = delay * random.uniform(0.5, 1.0)
        try:
            response = await http.get(url, params=params)
        except httpx.TransportError as exc:
            error = f"{type(exc).__name__}: {exc}"
        else:
            if response.status_code == 200:
                try:
                    return response.json()
                except ValueError:
                    raise Permanent(f"{url}: response is not JSON") from None
            if response.status_code not in RETRY_STATUSES:
                # Not the body: errors reach /feed/health, and the server answering may be anyone's.
                raise Permanent(f"{url}: HTTP {response.status_code}")
            error = f"HTTP {response.status_code}"
            asked = _retry_after(response)
            wait = asked if asked is not None else wait
        if attempt + 1 < attempts:
            await asyncio.sleep(wait)
            delay = min(delay * 2, 30.0)
    raise Transient(f"{url}: {error}")


def did_document_url(plc_url: str, did: str) -> str:
    """Where a DID's document lives: the PLC directory, or ``/.well-known/did.json`` for did:web."""
    if did.startswith("did:plc:"):
        return f"{plc_url.rstrip('/')}/{did}"
    if did.startswith("did:web:"):
        host = unquote(did.removeprefix("did:web:"))
        if "/" in host or not host:
            raise Permanent(f"{did}: not a did:web this resolver supports")
        # did:web is HTTPS-only; plain HTTP is allowed for loopback hosts so local fakes work.
        scheme = "http" if host.split(":")[0] in ("localhost", "127.0.0.1") else "https"
        return f"{scheme}://{host}/.well-known/did.json"
    raise Permanent(f"{did}: unsupported DID method")


async def resolve(http: httpx.AsyncClient, plc_url: str, did: str, attempts: int) -> tuple[str, str | None]:
    """(PDS base URL, handle or None) of ``did`` from its DID document."""
    doc = await get_json(http, did_document_url(plc_url, did), {}, attempts)
    if not isinstance(doc, dict):
        raise Permanent(f"{did}: DID document is not an object")
    pds = None
    for service in doc.get("service") or []:
        if isinstance(service, dict) and str(service.get("id", "")).endswith("#atproto_pds"):
            endpoint = service.get("serviceEndpoint")
            pds = endpoint if isinstance(endpoint, str) else None
    if pds is None:
        raise Permanent(f"{did}: DID document names no PDS")
    handle = None
    for aka in doc.get("alsoKnownAs") or []:
        if isinstance(aka, str) and aka.startswith("at://"):
            handle = aka.removeprefix("at://")
            break
    return pds.rstrip("/"), handle


async def verified_handle(http: httpx.AsyncClient, resolver_url: str, did: str, handle: str | None) -> str | None:
    """``handle`` if it resolves back to ``did``, else ``handle.invalid`` (None stays None).

    A DID document may claim any handle (its owner writes it); only the handle's own resolution,
    which the handle's domain controls, confirms it, as Bluesky's AppView checks.
    """
    if handle is None:
        return None
    url = f"{resolver_url.rstrip('/')}/xrpc/com.atproto.identity.resolveHandle"
    try:
        doc = await get_json(http, url, {"handle": handle}, 2)
    except (Permanent, Transient):
        return INVALID_HANDLE
    return handle if isinstance(doc, dict) and doc.get("did") == did else INVALID_HANDLE


async def list_records(
    http: httpx.AsyncClient, pds: str, did: str, collection: str, cursor: str | None, limit: int, attempts: int
) -> tuple[list[Any], str | None]:
    """One page of ``com.atproto.repo.listRecords``: (records, next cursor or None at the end)."""
    params: dict[str, Any] = {"repo": did, "collection": collection, "limit": limit}
    if cursor:
        params["cursor"] = cursor
    page = await get_json(http, f"{pds}/xrpc/com.atproto.repo.listRecords", params, attempts)
    if not isinstance(page, dict) or not isinstance(page.get("records"), list):
        raise Permanent(f"{did}: listRecords answered an unexpected shape")
    records: list[Any] = page["records"]
    next_cursor = page.get("cursor")
    if not records or not isinstance(next_cursor, str) or not next_cursor:
        next_cursor = None
    return records, next_cursor
