"""Cursors: opaque, bound to their list and owner, and only in the exact form the server issued."""

from __future__ import annotations

import pytest

from shared.errors import ApiError
from tenants.wishlist.pagination import Cursors

CURSORS = Cursors("k" * 48)


def refused(cursor: str, scope: str = "wishlists", owner: int = 7) -> None:
    with pytest.raises(ApiError) as info:
        CURSORS.decode(scope, owner, cursor)
    assert (info.value.status, info.value.code) == (400, "invalid_cursor")


def test_round_trip() -> None:
    assert CURSORS.decode("wishlists", 7, CURSORS.encode("wishlists", 7, 80)) == 80


def test_bound_to_list_owner_and_key() -> None:
    cursor = CURSORS.encode("wishlists", 7, 80)
    refused(cursor, owner=8)
    refused(cursor, scope="tags")
    with pytest.raises(ApiError):
        Cursors("other" * 10).decode("wishlists", 7, cursor)


def test_edited_or_non_canonical_cursors_are_refused() -> None:
    cursor = CURSORS.encode("wishlists", 7, 80)
    head, _, mac = cursor.partition(".")
    assert head == "ODA"  # "80"
    refused(f"ODB.{mac}")  # same bytes once padding bits are dropped, but not what we issued
    refused(f"{head}=.{mac}")
    refused(f"{head}.{mac}=")
    refused(f"O!DA.{mac}")
    refused(f"{CURSORS.encode('wishlists', 7, 81).partition('.')[0]}.{mac}")
    for junk in ("", ".", "garbage", "é.é", f"{head}.", f".{mac}", "MA.AAAA"):  # "MA" is "0"
        refused(junk)
