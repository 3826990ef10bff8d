"""A fake PDS and PLC directory on one loopback HTTP server.

``/plc/<did>`` answers DID documents naming this server as the account's PDS;
``/xrpc/com.atproto.repo.listRecords`` pages through records newest first (by rkey), with a
``cursor`` as a real PDS does. Failures can be queued per account to exercise retries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.server import serve


class FakePds:
    """Repositories keyed by DID: {collection: {rkey: (cid, record)}}."""

    def __init__(self) -> None:
        self.repos: dict[str, dict[str, dict[str, tuple[str, dict[str, Any]]]]] = defaultdict(lambda: defaultdict(dict))
        self.handles: dict[str, str] = {}
        self.failures: dict[str, list[int]] = defaultdict(list)  # did -> statuses to answer first
        self.list_calls: list[tuple[str, str, str | None]] = []
        self.url = ""

    @property
    def plc_url(self) -> str:
        """Base URL to use as ``ONEBOX_PLC_URL``."""
        return f"{self.url}/plc"

    def put(self, did: str, collection: str, rkey: str, cid: str, record: dict[str, Any]) -> None:
        """Store a record in ``did``'s repository."""
        self.repos[did][collection][rkey] = (cid, record)

    async def _did_doc(self, request: Request) -> JSONResponse:
        did = request.path_params["did"]
        if did not in self.repos and did not in self.handles:
            return JSONResponse({"message": "DID not registered"}, 404)
        return JSONResponse(
            {
                "@context": ["https://www.w3.org/ns/did/v1"],
                "id": did,
                "alsoKnownAs": [f"at://{self.handles.get(did, did.split(':')[-1] + '.test')}"],
                "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": self.url}],
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

    @asynccontextmanager
    async def running(self) -> AsyncIterator[FakePds]:
        """Serve on a loopback port."""
        app = Starlette(
            routes=[
                Route("/plc/{did}", self._did_doc),
                Route("/xrpc/com.atproto.repo.listRecords", self._list_records),
            ]
        )
        async with serve(app) as url:
            self.url = url
            yield self
