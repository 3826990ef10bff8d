"""Only public addresses may be called for a user; what resolves to what."""

from __future__ import annotations

import pytest

from shared.http.addresses import is_public, resolve


@pytest.mark.parametrize(
    ("address", "public"),
    [("8.8.8.8", True), ("2001:4860:4860::8888", True), ("10.0.0.1", False), ("172.16.5.4", False),
     ("192.168.1.1", False), ("127.0.0.1", False), ("169.254.169.254", False), ("100.64.0.1", False),
     ("0.0.0.0", False), ("224.0.0.1", False), ("::1", False), ("fe80::1%eth0", False), ("fc00::1", False),
     ("::ffff:10.0.0.1", False), ("::ffff:127.0.0.1", False)],
)  # fmt: skip
def test_only_public_addresses_pass(address: str, public: bool) -> None:
    assert is_public(address) is public


async def test_resolve_gives_addresses_or_nothing() -> None:
    assert "127.0.0.1" in await resolve("127.0.0.1", 443)
    assert await resolve("nothing-here.invalid", 443) == []
    assert await resolve("a" * 300, 443) == []  # not even a valid name
