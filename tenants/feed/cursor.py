"""Opaque, tamper-evident pagination cursors: base64url of the JSON key plus a truncated HMAC.

A client can hold a cursor but not forge or edit one, so a cursor is trusted as a sort key
(``(sort_at, uri)`` for timelines, an offset for ranked search) without re-validating it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any

import orjson

from shared.errors import ApiError

SIG_BYTES = 10
MAX_CURSOR = 2048


def bad_cursor() -> ApiError:
    """400 for a cursor this server did not issue (or one edited on the way)."""
    return ApiError(400, "invalid_cursor", "The cursor is malformed or was not issued by this server.")


class Cursors:
    """Signs and checks cursors with a key derived from the secret."""

    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), b"onebox:feed:cursor", hashlib.sha256).digest()

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:SIG_BYTES]

    def encode(self, *parts: Any) -> str:
        """A cursor holding ``parts`` (strings and integers)."""
        payload = orjson.dumps(list(parts))
        return base64.urlsafe_b64encode(payload + self._sign(payload)).rstrip(b"=").decode()

    def decode(self, cursor: str | None, *types: type) -> list[Any] | None:
        """The parts of ``cursor`` (None when absent), checked against ``types``; 400 otherwise."""
        if cursor is None or cursor == "":
            return None
        if len(cursor) > MAX_CURSOR:
            raise bad_cursor()
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raise bad_cursor() from None
        payload, signature = raw[:-SIG_BYTES], raw[-SIG_BYTES:]
        if len(raw) <= SIG_BYTES or not hmac.compare_digest(signature, self._sign(payload)):
            raise bad_cursor()
        parts = orjson.loads(payload)
        if not isinstance(parts, list) or len(parts) != len(types):
            raise bad_cursor()
        if not all(type(part) is kind for part, kind in zip(parts, types, strict=True)):
            raise bad_cursor()
        return parts
