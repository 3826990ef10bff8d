"""Query parameters shared by the REST and XRPC routes, checked with exact 400 answers."""

from __future__ import annotations

import re
from datetime import datetime

from starlette.datastructures import QueryParams

from shared.digits import ascii_int
from shared.errors import ApiError

# at://<did>/<nsid>/<rkey>: what every stored record's URI looks like.
AT_URI = re.compile(r"^at://did:[a-z]+:[A-Za-z0-9._:%-]{1,2000}/[a-zA-Z0-9.-]{3,317}/[A-Za-z0-9._:~-]{1,512}$")
POST_COLLECTION = "app.bsky.feed.post"
# The same with the repository named by handle, as an at-uri may (atproto's handle syntax).
HANDLE_AT_URI = re.compile(
    r"^at://(?=[^/]{1,253}/)(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"/[a-zA-Z0-9.-]{3,317}/[A-Za-z0-9._:~-]{1,512}$"
)
# The lexicon's ``datetime``: RFC 3339 and ISO 8601 at once, seconds and a zone required (atproto's
# interop files: no lower-case "t"/"z", no space, no "-00:00", no "+0000").
DATETIME = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,20})?(Z|[+-][0-9]{2}:[0-9]{2})$"
)
# A CID as text (base32 ``b...`` or base58 ``Qm...``): the lexicon's ``cid`` format, loosely.
CID = re.compile(r"^[A-Za-z0-9+/=]{8,256}$")


def invalid(name: str, message: str) -> ApiError:
    """400 naming the parameter at fault."""
    return ApiError(400, "invalid_parameter", f"{name}: {message}", details={"parameter": name})


def limit(params: QueryParams, default: int = 50, maximum: int = 100) -> int:
    """``limit`` in 1..maximum (default when absent)."""
    raw = params.get("limit")
    if raw is None or raw == "":
        return default
    value = ascii_int(raw, max_digits=9)
    if value is None or not 1 <= value <= maximum:
        raise invalid("limit", f"must be an integer from 1 to {maximum}")
    return value


def required(params: QueryParams, name: str, max_length: int = 3000) -> str:
    """A non-empty string parameter."""
    value = params.get(name, "").strip()
    if not value:
        raise invalid(name, "is required")
    if len(value) > max_length:
        raise invalid(name, f"is longer than {max_length} characters")
    return value


def post_uri(value: str, name: str = "uri") -> str:
    """An AT URI of an ``app.bsky.feed.post`` record."""
    if not AT_URI.match(value) or value.split("/")[3] != POST_COLLECTION:
        raise invalid(name, "must be the AT URI of a post (at://did/app.bsky.feed.post/rkey)")
    return value


def post_uri_any_authority(value: str, name: str = "uri") -> str:
    """An AT URI of a post whose repository is named by DID or by handle (resolve it before use)."""
    if value.startswith("at://did:") or not HANDLE_AT_URI.match(value) or value.split("/")[3] != POST_COLLECTION:
        return post_uri(value, name)
    return value


def lexicon_datetime(value: object) -> datetime | None:
    """An atproto ``datetime`` string as an aware datetime; None when it is not one."""
    if not isinstance(value, str) or not DATETIME.match(value) or value.endswith("-00:00") or value.startswith("0000"):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:  # a month 13, a day 32, an hour 24
        return None


def optional_cid(params: QueryParams, name: str = "cid") -> str | None:
    """A ``cid``-format parameter (None when absent)."""
    value = params.get(name) or None
    if value is not None and not CID.match(value):
        raise invalid(name, "must be a CID")
    return value


def uri_list(params: QueryParams, name: str, maximum: int = 25) -> list[str]:
    """A repeated post AT URI parameter (``?uris=a&uris=b``), 1..maximum of them, by DID or handle."""
    values = params.getlist(name)
    if not values:
        raise invalid(name, "is required")
    if len(values) > maximum:
        raise invalid(name, f"accepts at most {maximum} values")
    return [post_uri_any_authority(value, name) for value in values]


def choice(params: QueryParams, name: str, allowed: tuple[str, ...], default: str) -> str:
    """One of ``allowed`` (default when absent)."""
    value = params.get(name) or default
    if value not in allowed:
        raise invalid(name, f"must be one of {', '.join(allowed)}")
    return value


def integer(params: QueryParams, name: str, default: int, low: int, high: int) -> int:
    """An integer in low..high."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    value = ascii_int(raw, max_digits=9, signed=True)
    if value is None or not low <= value <= high:
        raise invalid(name, f"must be an integer from {low} to {high}")
    return value


def flag(params: QueryParams, name: str) -> bool:
    """A boolean parameter: ``true`` or ``false`` (false when absent)."""
    value = params.get(name)
    if value is None or value == "":
        return False
    if value not in ("true", "false"):
        raise invalid(name, "must be true or false")
    return value == "true"


# Lexicon ``knownValues`` are open lists: a value outside them is no error (Bluesky's AppView
# falls back to the default, or matches nothing). A value longer than this is no value at all.
MAX_OPEN_VALUE = 100
MAX_OPEN_VALUES = 50


def open_value(params: QueryParams, name: str) -> str | None:
    """A single-valued string (None when absent or empty); repeated, it is the wrong type (as atproto's xrpc-server)."""
    values = params.getlist(name)
    if len(values) > 1:
        raise invalid(name, "must be a single value")
    if values and len(values[0]) > MAX_OPEN_VALUE:
        raise invalid(name, f"is longer than {MAX_OPEN_VALUE} characters")
    return values[0] if values and values[0] else None


def open_choice(params: QueryParams, name: str, known: tuple[str, ...], default: str) -> str:
    """A ``knownValues`` string: one of ``known``, else ``default`` (also for a value not known)."""
    value = open_value(params, name)
    return value if value in known else default


def open_list(params: QueryParams, name: str) -> list[str] | None:
    """A repeated ``knownValues`` parameter, every value kept (an unknown one matches nothing); None when absent."""
    values = params.getlist(name)
    if len(values) > MAX_OPEN_VALUES:
        raise invalid(name, f"accepts at most {MAX_OPEN_VALUES} values")
    if any(len(value) > MAX_OPEN_VALUE for value in values):
        raise invalid(name, f"values are at most {MAX_OPEN_VALUE} characters")
    return values or None
