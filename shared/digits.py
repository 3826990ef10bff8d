"""Integers written in text from outside: ASCII digits only, and not too many of them.

``str.isdigit()`` takes "²" and other digits that ``int()`` refuses, and ``int()`` refuses more
than 4,300 digits: either way a check-then-convert would raise where a 4xx was meant.
"""

from __future__ import annotations


def ascii_int(text: str | bytes, max_digits: int = 19, signed: bool = False) -> int | None:
    """The integer ``text`` spells (a leading ``-`` allowed when ``signed``), else None."""
    if isinstance(text, bytes):
        if not text.isascii():
            return None
        text = text.decode("ascii")
    body = text[1:] if signed and text.startswith("-") else text
    if not 0 < len(body) <= max_digits or not body.isascii() or not body.isdigit():
        return None
    return int(text)
