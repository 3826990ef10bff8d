"""Fast JSON responses: orjson for Python data, pass-through for PostgreSQL-built documents."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


def _default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(data: Any) -> bytes:
    """Serialise to JSON bytes (datetimes, UUIDs and decimals included)."""
    return orjson.dumps(data, default=_default, option=orjson.OPT_PASSTHROUGH_DATACLASS)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response from Python data."""
    return Response(dumps(data), status_code=status, headers=headers, media_type="application/json")


def raw_json_response(body: str | bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON document built elsewhere (usually by PostgreSQL), passed through untouched."""
    return Response(body, status_code=status, headers=headers, media_type="application/json")
