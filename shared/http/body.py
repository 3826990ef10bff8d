"""Reading request bodies into pydantic models with clear 400/422 answers."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from shared.db.nul import has_nul, nul_error
from shared.errors import ApiError

M = TypeVar("M", bound=BaseModel)


# Pydantic prefixes the message of a ValueError raised in a validator; people read ours without it.
VALUE_ERROR_PREFIX = "Value error, "


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic errors as a short, JSON-safe list of ``{field, message}``."""
    return [
        {
            "field": ".".join(str(p) for p in err["loc"]) or "body",
            "message": err["msg"].removeprefix(VALUE_ERROR_PREFIX),
        }
        for err in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


async def read_json_value(request: Request) -> Any:
    """The decoded JSON body; 400 ``malformed_json``, or ``unsupported_character`` for a NUL in it."""
    raw = await request.body()
    if not raw:
        raise ApiError(400, "malformed_json", "The request body must be a JSON document.")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "malformed_json", f"The request body is not valid JSON: {exc}") from None
    # JSON carries U+0000 only escaped; refused here, before a handler acts on any of the body.
    if b"\\u0000" in raw and has_nul(value):
        raise nul_error()
    return value


async def read_json(request: Request, model: type[M]) -> M:
    """The body as ``model``: 400 for malformed JSON, 422 for the wrong shape."""
    value = await read_json_value(request)
    if not isinstance(value, dict):
        raise ApiError(422, "validation_error", "The request body must be a JSON object.")
    return parse_model(model, value)


def parse_model(model: type[M], value: Any) -> M:
    """Validate ``value`` (body or query) as ``model`` or answer 422."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise ApiError(422, "validation_error", "The request is not valid.", details=validation_details(exc)) from None
