"""``/xrpc/{nsid}``: finds the method, checks the HTTP verb, renders errors in the XRPC shape.

The gateway renders ``ApiError`` in the onebox shape, so errors are caught here and answered as
``{"error": "InvalidRequest", "message": ...}`` with the status a PDS or AppView would use.
"""

from __future__ import annotations

import logging

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from shared.db.nul import is_nul_refusal, nul_error
from shared.db.sqlstate import lost_race
from shared.errors import ApiError
from shared.http.responses import json_response
from tenants.feed.appview import AppView
from tenants.feed.sessions import PdsSessions
from tenants.feed.writes import Writes
from tenants.feed.xrpc.base import Call, XrpcError
from tenants.feed.xrpc.registry import METHODS

log = logging.getLogger("onebox.feed.xrpc")


def from_api_error(exc: ApiError) -> XrpcError:
    """The XRPC form of an ApiError raised by shared code (auth, bodies, cursors, PDS calls)."""
    if exc.xrpc_name:
        return XrpcError(exc.status, exc.xrpc_name, exc.message)  # named by the code that raised it
    if exc.status == 401:
        if "expired" in exc.message and exc.code == "unauthorized":
            return XrpcError(400, "ExpiredToken", exc.message)  # as a PDS answers an expired access token
        if exc.code == "unauthorized" and exc.message != "Authentication required.":
            return XrpcError(401, "InvalidToken", exc.message)
        return XrpcError(401, "AuthenticationRequired", exc.message)
    names = {403: "Forbidden", 404: "NotFound", 413: "PayloadTooLarge", 429: "RateLimitExceeded",
             502: "UpstreamFailure", 503: "NotEnoughResources"}  # fmt: skip
    status = exc.status if exc.status in (403, 413, 429, 502, 503) else 400
    return XrpcError(status, names.get(exc.status, "InvalidRequest"), exc.message)


def render(error: XrpcError, headers: dict[str, str] | None = None) -> Response:
    """The XRPC error response."""
    return json_response({"error": error.error, "message": error.message}, status=error.status, headers=headers)


def routes(av: AppView, sessions: PdsSessions, writes: Writes) -> list[Route]:
    """The one XRPC route."""

    async def dispatch(request: Request) -> Response:
        """Call an XRPC method by NSID (queries with GET, procedures with POST)."""
        nsid = request.path_params["nsid"]
        method = METHODS.get(nsid)
        if method is None:
            return render(XrpcError(501, "MethodNotImplemented", f"Method not implemented: {nsid[:200]}"))
        expected = "GET" if method.kind == "query" else "POST"
        if request.method not in (expected, "HEAD" if expected == "GET" else expected):
            return render(
                XrpcError(400, "InvalidRequest", f"Incorrect HTTP method ({request.method}) expected {expected}")
            )
        try:
            return await method.handle(Call(av, sessions, writes, request))
        except XrpcError as exc:
            return render(exc)
        except ApiError as exc:
            return render(from_api_error(exc), headers=exc.headers)
        except ClientDisconnect:
            raise  # the gateway logs a client gone mid-request; it is no method's failure
        except Exception as exc:
            if is_nul_refusal(exc):
                return render(XrpcError(400, "InvalidRequest", nul_error().message))
            if (error := lost_race(exc)) is not None:
                log.warning("XRPC %s lost a race with a concurrent transaction: %s", nsid, exc)
                return render(from_api_error(error), headers=error.headers)
            log.exception("XRPC %s failed", nsid)
            return render(XrpcError(500, "InternalServerError", "Internal Server Error"))

    return [Route("/xrpc/{nsid}", dispatch, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])]
