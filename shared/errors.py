"""The one error type APIs raise; the gateway renders it in the shared JSON shape (XRPC's under ``/xrpc/``)."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answered as ``{"error": {"code", "message", "details"}}`` with ``status``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
        xrpc_name: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}
        # The XRPC error name when it is more than the status says (an upstream's "InvalidSwap").
        self.xrpc_name = xrpc_name

    def body(self) -> dict[str, Any]:
        """The JSON document of this error."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}

    def xrpc_body(self) -> dict[str, Any]:
        """The same error as XRPC writes it: ``{"error": <name>, "message"}``."""
        return {"error": self.xrpc_name or XRPC_NAMES.get(self.status, "InvalidRequest"), "message": self.message}


# The error names XRPC services answer with each status (atproto's xrpc-server).
XRPC_NAMES = {
    400: "InvalidRequest",
    401: "AuthenticationRequired",
    403: "Forbidden",
    404: "XRPCNotSupported",
    413: "PayloadTooLarge",
    429: "RateLimitExceeded",
    500: "InternalServerError",
    501: "MethodNotImplemented",
    502: "UpstreamFailure",
    503: "NotEnoughResources",
    504: "UpstreamTimeout",
}


def is_xrpc(path: str) -> bool:
    """Whether ``path`` is an XRPC endpoint, whose errors take XRPC's shape."""
    return "/xrpc/" in path


def not_found(what: str = "resource") -> ApiError:
    """404 for an unknown id, or one the caller may not see (never a leak)."""
    return ApiError(404, "not_found", f"The {what} does not exist.")


def unauthorized(message: str = "Authentication required.") -> ApiError:
    """401 with the bearer challenge."""
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def unavailable(message: str, retry_after: int = 1) -> ApiError:
    """503 with Retry-After."""
    return ApiError(503, "unavailable", message, headers={"Retry-After": str(retry_after)})
