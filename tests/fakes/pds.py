"""A fake PDS and PLC directory on one loopback HTTP server.

``/plc/<did>`` answers DID documents naming this server as the account's PDS;
``/xrpc/com.atproto.repo.listRecords`` pages through records newest first (by rkey), with a
``cursor`` as a real PDS does. Failures can be queued per account to exercise retries.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.firehose import tid
from tests.support.server import serve


class FakePds:
    """Repositories keyed by DID: {collection: {rkey: (cid, record)}}."""

    def __init__(self) -> None:
        self.repos: dict[str, dict[str, dict[str, tuple[str, dict[str, Any]]]]] = defaultdict(lambda: defaultdict(dict))
        self.handles: dict[str, str] = {}
        self.failures: dict[str, list[int]] = defaultdict(list)  # did -> statuses to answer first
        self.list_calls: list[tuple[str, str, str | None]] = []
        self.url = ""
        # Accounts that can sign in (did -> app password), their sessions and the writes received.
        self.passwords: dict[str, str] = {}
        self.statuses: dict[str, str] = {}  # did -> why the account is inactive ("deactivated")
        self.auth_factors: dict[str, str] = {}  # did -> the emailed code its sign-in requires (two-factor)
        self.endpoints: dict[str, str] = {}  # did -> PDS URL to name instead of this server
        self.access: dict[str, str] = {}  # access token -> did
        self.refresh: dict[str, str] = {}  # refresh token -> did
        self.ended: list[str] = []  # DIDs whose session a client ended (deleteSession)
        self.refreshing: list[str] = []  # DIDs whose session a client refreshed (refreshSession)
        self.refresh_gate: asyncio.Event | None = None  # when set: refreshes answer once it is
        self.writes: list[tuple[str, str, dict[str, Any]]] = []  # (nsid, did, body)
        self.revs: dict[str, str] = {}  # record URI -> revision of the commit that wrote it
        self.heads: dict[str, str] = {}  # DID -> CID of its repository's latest commit
        self._serial = itertools.count(1)

    @property
    def plc_url(self) -> str:
        """Base URL to use as ``ONEBOX_PLC_URL``."""
        return f"{self.url}/plc"

    def put(self, did: str, collection: str, rkey: str, cid: str, record: dict[str, Any]) -> None:
        """Store a record in ``did``'s repository."""
        self.repos[did][collection][rkey] = (cid, record)

    @property
    def web_did(self) -> str:
        """The did:web this server hosts (its document at ``/.well-known/did.json``)."""
        return "did:web:" + self.url.removeprefix("http://").replace(":", "%3A")

    async def _web_did_doc(self, request: Request) -> JSONResponse:
        request.path_params["did"] = self.web_did
        return await self._did_doc(request)

    async def _did_doc(self, request: Request) -> JSONResponse:
        did = request.path_params["did"]
        if did not in self.repos and did not in self.handles:
            return JSONResponse({"message": "DID not registered"}, 404)
        return JSONResponse(
            {
                "@context": ["https://www.w3.org/ns/did/v1"],
                "id": did,
                "alsoKnownAs": [f"at://{self.handles.get(did, did.split(':')[-1] + '.test')}"],
                "service": [
                    {
                        "id": "#atproto_pds",
                        "type": "AtprotoPersonalDataServer",
                        "serviceEndpoint": self.endpoints.get(did, self.url),
                    }
                ],
            }
        )

    async def _list_records(self, request: Request) -> JSONResponse:
        repo = request.query_params.get("repo", "")
        collection = request.query_params.get("collection", "")
        cursor = request.query_params.get("cursor")
        limit = min(int(request.query_params.get("limit", "50")), 100)
        self.list_calls.append((repo, collection, cursor))
        if self.failures[repo]:
            status = self.failures[repo].pop(0)
            return JSONResponse({"error": "RateLimitExceeded"}, status, headers={"Retry-After": "0"})
        if repo not in self.repos:
            return JSONResponse({"error": "RepoNotFound", "message": f"Could not find repo: {repo}"}, 400)
        records = self.repos[repo][collection]
        rkeys = sorted((k for k in records if cursor is None or k < cursor), reverse=True)[:limit]
        body: dict[str, Any] = {
            "records": [
                {"uri": f"at://{repo}/{collection}/{k}", "cid": records[k][0], "value": records[k][1]} for k in rkeys
            ]
        }
        if len(rkeys) == limit:
            body["cursor"] = rkeys[-1]
        return JSONResponse(body)

    def account(self, did: str, handle: str, password: str) -> None:
        """Create an account that can sign in with ``password``."""
        self.handles[did] = handle
        self.passwords[did] = password
        self.repos.setdefault(did, defaultdict(dict))  # the account has a repository from now on

    def _token(self, did: str, kind: str, ttl: int) -> str:
        # JWT-shaped (header.payload.signature) so clients can read exp as they would from a real PDS.
        payload = {"sub": did, "scope": kind, "exp": int(time.time()) + ttl, "jti": next(self._serial)}
        body = base64.urlsafe_b64encode(orjson.dumps(payload)).rstrip(b"=").decode()
        return f"eyJhbGciOiJIUzI1NiJ9.{body}.fake"

    def _new_session(self, did: str) -> JSONResponse:
        access, refresh = self._token(did, "access", 7200), self._token(did, "refresh", 86400)
        self.access[access], self.refresh[refresh] = did, did
        doc: dict[str, Any] = {"did": did, "handle": self.handles[did], "accessJwt": access, "refreshJwt": refresh}
        # A deactivated account still gets a session, marked inactive (takendown ones get an error).
        status = self.statuses.get(did)
        doc.update({"active": False, "status": status} if status else {"active": True})
        return JSONResponse(doc)

    def expire_sessions(self, did: str) -> None:
        """Make ``did``'s access tokens expired (the next write must refresh first)."""
        self.access = {token: owner for token, owner in self.access.items() if owner != did}

    def _bearer(self, request: Request, tokens: dict[str, str]) -> str | None:
        return tokens.get(request.headers.get("authorization", "").removeprefix("Bearer "))

    async def _resolve_handle(self, request: Request) -> JSONResponse:
        handle = request.query_params.get("handle", "")
        for did, known in self.handles.items():
            if known == handle:
                return JSONResponse({"did": did})
        # The handle a DID document names by default (see _did_doc) resolves back to it.
        default = "did:plc:" + handle.removesuffix(".test")
        if handle.endswith(".test") and default not in self.handles:
            return JSONResponse({"did": default})
        return JSONResponse({"error": "InvalidRequest", "message": "Unable to resolve handle"}, 400)

    async def _create_session(self, request: Request) -> JSONResponse:
        body = await request.json()
        ident = body.get("identifier", "")
        did = ident if ident in self.passwords else next((d for d, h in self.handles.items() if h == ident), "")
        if self.passwords.get(did) != body.get("password"):
            return JSONResponse({"error": "AuthenticationRequired", "message": "Invalid identifier or password"}, 401)
        # As bsky.social's entryway: a password sign-in with two-factor on needs the emailed code.
        if did in self.auth_factors and body.get("authFactorToken") != self.auth_factors[did]:
            message = "A sign in code has been sent to your email address"
            return JSONResponse({"error": "AuthFactorTokenRequired", "message": message}, 401)
        if self.statuses.get(did) == "takendown" and not body.get("allowTakendown"):
            return JSONResponse({"error": "AccountTakedown", "message": "Account has been taken down"}, 401)
        return self._new_session(did)

    async def _refresh_session(self, request: Request) -> JSONResponse:
        did = self._bearer(request, self.refresh)
        if did is None:
            return JSONResponse({"error": "ExpiredToken", "message": "Token has expired"}, 400)
        del self.refresh[request.headers["authorization"].removeprefix("Bearer ")]
        self.refreshing.append(did)
        if self.refresh_gate is not None:
            await self.refresh_gate.wait()
        return self._new_session(did)

    async def _delete_session(self, request: Request) -> Response:
        # As the PDS: the refresh JWT authenticates, its token is revoked, the answer has no body.
        did = self._bearer(request, self.refresh)
        if did is None:
            return JSONResponse({"error": "ExpiredToken", "message": "Token has expired"}, 400)
        del self.refresh[request.headers["authorization"].removeprefix("Bearer ")]
        self.ended.append(did)
        return Response(status_code=200)

    async def _get_session(self, request: Request) -> JSONResponse:
        did = self._bearer(request, self.access)
        if did is None:
            return JSONResponse({"error": "ExpiredToken", "message": "Token has expired"}, 400)
        return JSONResponse({"did": did, "handle": self.handles[did], "active": True})

    async def _write(self, request: Request) -> JSONResponse:
        did = self._bearer(request, self.access)
        if did is None:
            return JSONResponse({"error": "ExpiredToken", "message": "Token has expired"}, 400)
        nsid = request.url.path.rsplit("/", 1)[-1]
        body = await request.json()
        if body.get("repo") != did:
            return JSONResponse({"error": "InvalidRequest", "message": "Invalid repo"}, 400)
        collection = body["collection"]
        # swapCommit: the repository's current commit; swapRecord: the record's current CID.
        held = self.repos[did][collection].get(body.get("rkey") or "")
        if ("swapCommit" in body and body["swapCommit"] != self.heads.get(did)) or (
            "swapRecord" in body and body["swapRecord"] != (held[0] if held else None)
        ):
            return JSONResponse({"error": "InvalidSwap", "message": "Swap failed: the repository moved on"}, 400)
        self.writes.append((nsid, did, body))
        # Each write is a commit of the repository, with a revision later than the ones before.
        commit = {"cid": f"bafycommit{next(self._serial)}", "rev": tid(time.time_ns() // 1000)}
        self.heads[did] = commit["cid"]
        if nsid == "com.atproto.repo.deleteRecord":
            self.repos[did][collection].pop(body["rkey"], None)
            return JSONResponse({"commit": commit})
        rkey = body.get("rkey") or f"3l{next(self._serial):011d}"
        cid = "bafyrei" + hashlib.sha256(orjson.dumps(body["record"])).hexdigest()[:52]
        self.put(did, collection, rkey, cid, body["record"])
        self.revs[f"at://{did}/{collection}/{rkey}"] = commit["rev"]
        status = "unknown" if body.get("validate") is False else "valid"
        return JSONResponse(
            {"uri": f"at://{did}/{collection}/{rkey}", "cid": cid, "commit": commit, "validationStatus": status}
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[FakePds]:
        """Serve on a loopback port."""
        app = Starlette(
            routes=[
                Route("/plc/{did}", self._did_doc),
                Route("/.well-known/did.json", self._web_did_doc),
                Route("/xrpc/com.atproto.repo.listRecords", self._list_records),
                Route("/xrpc/com.atproto.identity.resolveHandle", self._resolve_handle),
                Route("/xrpc/com.atproto.server.createSession", self._create_session, methods=["POST"]),
                Route("/xrpc/com.atproto.server.refreshSession", self._refresh_session, methods=["POST"]),
                Route("/xrpc/com.atproto.server.getSession", self._get_session),
                Route("/xrpc/com.atproto.server.deleteSession", self._delete_session, methods=["POST"]),
                Route("/xrpc/com.atproto.repo.createRecord", self._write, methods=["POST"]),
                Route("/xrpc/com.atproto.repo.deleteRecord", self._write, methods=["POST"]),
            ]
        )
        async with serve(app) as url:
            self.url = url
            yield self
