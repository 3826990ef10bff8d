"""Bluesky accounts: handle → DID → PDS resolution, app-password sessions, calls to the member's PDS.

Sign-in follows the AT Protocol: a handle resolves to a DID (``com.atproto.identity.resolveHandle``
on a configurable resolver), the DID document (PLC directory or ``did:web``) names the PDS, and
``com.atproto.server.createSession`` there checks the app password. Stored PDS tokens are sealed
with :class:`TokenBox` (AES-GCM, key derived from the secret key) so a database dump holds no
usable credentials.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote

import httpx
import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12
# The AT Protocol's handle and DID syntax (atproto.com/specs/handle, /specs/did).
HANDLE = re.compile(r"([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?")
DID = re.compile(r"did:[a-z]+:[a-zA-Z0-9._:%-]{0,2040}[a-zA-Z0-9._-]")


class BlueskyError(Exception):
    """A failed call: ``status`` is what our API answers, ``error`` the XRPC error name."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


class PdsUnreachable(BlueskyError):
    """The resolver, directory or PDS could not be reached or failed (answered as 502)."""

    def __init__(self, message: str) -> None:
        super().__init__(502, "UpstreamFailure", message)


# What Bluesky shows for an account whose handle does not check out both ways.
INVALID_HANDLE = "handle.invalid"


@dataclass(frozen=True)
class PdsSession:
    """A session at the member's PDS."""

    did: str
    handle: str
    pds_url: str
    access_jwt: str
    refresh_jwt: str
    active: bool = True
    # Why an inactive account is inactive: "deactivated", "suspended", "takendown" (lexicon knownValues).
    status: str | None = None


def jwt_expiry(token: str) -> int | None:
    """The ``exp`` claim of a JWT, read without verifying it (only to decide when to refresh)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return None
    exp = payload.get("exp") if isinstance(payload, dict) else None
    return exp if isinstance(exp, int) else None


class TokenBox:
    """Seals short secrets at rest with AES-256-GCM; the associated data binds a secret to its row."""

    def __init__(self, secret: str, purpose: str = "bluesky-pds-tokens") -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"onebox:{purpose}".encode()).derive(
            secret.encode()
        )
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, bound_to: str) -> bytes:
        """Nonce and ciphertext of ``plaintext``, bound to ``bound_to`` (e.g. the account's DID)."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), bound_to.encode())

    def open(self, sealed: bytes, bound_to: str) -> str:
        """The plaintext; ValueError when the data was altered, moved to another row or sealed with another key."""
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], bound_to.encode()).decode()
        except InvalidTag:
            raise ValueError("sealed token does not open with this key and binding") from None


def _session(doc: Any, pds_url: str) -> PdsSession:
    if not isinstance(doc, dict):
        raise PdsUnreachable("The PDS answered a session in an unexpected shape.")
    try:
        return PdsSession(
            did=str(doc["did"]),
            handle=str(doc["handle"]),
            pds_url=pds_url,
            access_jwt=str(doc["accessJwt"]),
            refresh_jwt=str(doc["refreshJwt"]),
            active=bool(doc.get("active", True)),
            status=str(doc["status"])[:64] if isinstance(doc.get("status"), str) else None,
        )
    except KeyError as exc:
        raise PdsUnreachable(f"The PDS session lacks {exc.args[0]!r}.") from None


class BlueskyClient:
    """Identity resolution and PDS calls over one shared ``httpx.AsyncClient``."""

    def __init__(self, http: httpx.AsyncClient, resolver_url: str, plc_url: str) -> None:
        self.http = http
        self.resolver_url = resolver_url.rstrip("/")
        self.plc_url = plc_url.rstrip("/")

    async def _call(self, method: str, url: str, what: str, **kwargs: Any) -> Any:
        try:
            response = await self.http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise PdsUnreachable(f"Could not reach {what}: {type(exc).__name__}.") from None
        if response.status_code >= 500:
            raise PdsUnreachable(f"{what} failed with HTTP {response.status_code}.")
        try:
            body = response.json() if response.content else {}
        except ValueError:
            raise PdsUnreachable(f"{what} answered something that is not JSON.") from None
        if response.status_code >= 400:
            error = body.get("error") if isinstance(body, dict) else None
            message = body.get("message") if isinstance(body, dict) else None
            raise BlueskyError(
                response.status_code, str(error or "InvalidRequest"), str(message or f"{what} refused the request.")
            )
        return body

    async def resolve_handle(self, handle: str) -> str:
        """The DID of ``handle``; BlueskyError 400 when no account has it."""
        doc = await self._call(
            "GET",
            f"{self.resolver_url}/xrpc/com.atproto.identity.resolveHandle",
            "the handle resolver",
            params={"handle": handle},
        )
        did = doc.get("did") if isinstance(doc, dict) else None
        if not isinstance(did, str) or not did.startswith("did:"):
            raise BlueskyError(400, "InvalidRequest", f"Unable to resolve handle: {handle}")
        return did

    def did_document_url(self, did: str) -> str:
        """Where the DID document lives: the PLC directory, or ``/.well-known/did.json`` for did:web."""
        if did.startswith("did:plc:"):
            return f"{self.plc_url}/{did}"
        host = unquote(did.removeprefix("did:web:")) if did.startswith("did:web:") else ""
        if not host or "/" in host:
            raise BlueskyError(400, "InvalidRequest", f"Unsupported DID: {did}")
        # did:web is HTTPS-only; loopback hosts may use HTTP so local fakes work.
        scheme = "http" if host.split(":")[0] in ("localhost", "127.0.0.1") else "https"
        return f"{scheme}://{host}/.well-known/did.json"

    async def resolve_pds(self, did: str) -> tuple[str, str | None]:
        """(PDS URL, handle or None) from the DID document."""
        doc = await self._call("GET", self.did_document_url(did), "the DID directory")
        services = doc.get("service") if isinstance(doc, dict) else None
        for service in services if isinstance(services, list) else []:
            if isinstance(service, dict) and str(service.get("id", "")).endswith("#atproto_pds"):
                endpoint = service.get("serviceEndpoint")
                if isinstance(endpoint, str) and endpoint.startswith(("https://", "http://")):
                    also = doc.get("alsoKnownAs") or []
                    handles = [a.removeprefix("at://") for a in also if isinstance(a, str) and a.startswith("at://")]
                    return endpoint.rstrip("/"), handles[0] if handles else None
        raise PdsUnreachable(f"The DID document of {did} names no PDS.")

    async def create_session(self, identifier: str, password: str, auth_factor_token: str | None = None) -> PdsSession:
        """Sign in with a handle or DID and an app password at the account's own PDS.

        An identifier that is neither (an email, a typo) is refused before any network call:
        only a handle or DID leads to the account's PDS. ``auth_factor_token`` is the code a PDS
        emails when the account's own password is used with two-factor sign-in on.
        """
        identifier = identifier.removeprefix("@")
        if DID.fullmatch(identifier):
            did = identifier
        elif HANDLE.fullmatch(identifier) and len(identifier) <= 253:
            did = await self.resolve_handle(identifier)
        else:
            raise BlueskyError(400, "InvalidRequest", "Sign in with your Bluesky handle (name.bsky.social) or DID.")
        pds_url, document_handle = await self.resolve_pds(did)
        doc = await self._call(
            "POST",
            f"{pds_url}/xrpc/com.atproto.server.createSession",
            "the PDS",
            json={"identifier": identifier, "password": password}
            | ({"authFactorToken": auth_factor_token} if auth_factor_token else {}),
        )
        session = _session(doc, pds_url)
        if session.did != did:
            raise PdsUnreachable("The PDS signed in a different account than the one resolved.")
        verified = await self._verified_handle(did, session.handle, document_handle, identifier)
        return replace(session, handle=verified)

    async def _verified_handle(self, did: str, claimed: str, document_handle: str | None, identifier: str) -> str:
        """``claimed`` if it and the DID point at each other, else ``handle.invalid``, as Bluesky shows it.

        The PDS (anyone can run one) says which handle the account has; without the check an
        account could take any handle and show as someone else.
        """
        if not document_handle or document_handle.lower() != claimed.lower():
            return INVALID_HANDLE
        if identifier.lower() == claimed.lower():
            return claimed  # signed in by this handle: it was just resolved to this DID
        try:
            return claimed if await self.resolve_handle(claimed) == did else INVALID_HANDLE
        except (BlueskyError, PdsUnreachable):
            return INVALID_HANDLE

    async def refresh_session(self, session: PdsSession) -> PdsSession:
        """A new session from the refresh token (the PDS rotates both tokens)."""
        doc = await self._call(
            "POST",
            f"{session.pds_url}/xrpc/com.atproto.server.refreshSession",
            "the PDS",
            headers={"Authorization": f"Bearer {session.refresh_jwt}"},
        )
        return _session(doc, session.pds_url)

    async def delete_session(self, session: PdsSession) -> None:
        """End the session at its PDS (its refresh token is revoked there), as a client signing out does."""
        await self._call(
            "POST",
            f"{session.pds_url}/xrpc/com.atproto.server.deleteSession",
            "the PDS",
            headers={"Authorization": f"Bearer {session.refresh_jwt}"},
        )

    async def procedure(self, session: PdsSession, nsid: str, body: dict[str, Any]) -> Any:
        """POST an XRPC procedure to the member's PDS with their access token."""
        return await self._call(
            "POST",
            f"{session.pds_url}/xrpc/{nsid}",
            "the PDS",
            json=body,
            headers={"Authorization": f"Bearer {session.access_jwt}"},
        )
