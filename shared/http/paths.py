"""Path parameters: database ids, matched by the route itself so a hostile one is just a 404."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

# The convertor's name in route paths: ``/api/items/{id:id}``.
ID = "id"


class DatabaseId(Convertor[int]):
    """1 to 19 ASCII digits, what a ``bigint`` id can be written with.

    Starlette's ``int`` takes any run of digits and calls ``int()`` while routing, which raises
    (a 500) past 4,300 digits; a path that doesn't match is a plain 404 instead.
    """

    regex = "[0-9]{1,19}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


def register_path_convertors() -> None:
    """Make ``{name:id}`` known to route paths (Starlette keeps convertors in one table per process)."""
    register_url_convertor(ID, DatabaseId())
