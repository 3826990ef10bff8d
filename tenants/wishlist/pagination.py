"""Opaque, tamper-checked keyset cursors: ``<last id>.<HMAC>``, bound to the list and its owner."""

from __future__ import annotations

import base64
import hashlib
import hmac

from shared.digits import ascii_int
from shared.errors import ApiError
from tenants.wishlist.schemas import BIGINT_MAX


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def invalid_cursor() -> ApiError:
    """400 for a cursor this server didn't hand out (edited, truncated, or for another list)."""
    return ApiError(400, "invalid_cursor", "The cursor is not valid; start again without it.")


class Cursors:
    """Signs and checks cursors with a key derived from the server secret."""

    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), b"wishlist:cursor", hashlib.sha256).digest()

    def _mac(self, scope: str, owner: int, last_id: int) -> bytes:
        return hmac.new(self._key, f"{scope}:{owner}:{last_id}".encode(), hashlib.sha256).digest()[:16]

    def encode(self, scope: str, owner: int, last_id: int) -> str:
        """The cursor continuing ``scope`` (e.g. ``wishlists``) of ``owner`` after ``last_id``."""
        return f"{_b64(str(last_id).encode())}.{_b64(self._mac(scope, owner, last_id))}"

    def decode(self, scope: str, owner: int, cursor: str) -> int:
        """The last id a cursor carries, or 400 ``invalid_cursor``."""
        head, _, mac = cursor.partition(".")
        try:
            raw, given = _unb64(head), _unb64(mac)
        except ValueError:
            raise invalid_cursor() from None
        # Only the exact encoding we issued: base64 tolerates stray characters and padding bits.
        last_id = ascii_int(raw)
        if _b64(raw) != head or _b64(given) != mac or last_id is None or not 0 < last_id <= BIGINT_MAX:
            raise invalid_cursor()
        if not hmac.compare_digest(given, self._mac(scope, owner, last_id)):
            raise invalid_cursor()
        return last_id
