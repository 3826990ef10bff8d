"""Refresh tokens rotate on use; replaying a spent one revokes the whole sign-in."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from shared.errors import ApiError
from shared.tenant import TenantContext


async def rotate(ctx: TenantContext, token: str) -> tuple[str, str]:
    return await ctx.refresh.rotate(ctx.db, token)


async def expect_refused(ctx: TenantContext, token: str, code: str) -> None:
    with pytest.raises(ApiError) as info:
        await rotate(ctx, token)
    assert (info.value.status, info.value.code) == (401, code)


async def test_rotation_and_reuse_detection(tenant_ctx: Callable[[str], TenantContext]) -> None:
    ctx = tenant_ctx("wishlist")
    async with ctx.db.transaction() as conn:
        first = await ctx.refresh.issue(conn, "user-1")
    subject, second = await rotate(ctx, first)
    assert subject == "user-1" and second != first
    subject, third = await rotate(ctx, second)
    assert subject == "user-1"
    # Replaying a spent token is theft or a bug: the whole family dies, including the newest.
    await expect_refused(ctx, first, "refresh_token_reused")
    await expect_refused(ctx, third, "refresh_token_reused")


async def test_unknown_and_revoked(tenant_ctx: Callable[[str], TenantContext]) -> None:
    ctx = tenant_ctx("wishlist")
    await expect_refused(ctx, "no-such-token", "invalid_refresh_token")
    async with ctx.db.transaction() as conn:
        token = await ctx.refresh.issue(conn, "user-2")
        assert await ctx.refresh.revoke(conn, token) is True
        assert await ctx.refresh.revoke(conn, "unknown") is False
    await expect_refused(ctx, token, "refresh_token_reused")


async def test_expired_refresh_token(tenant_ctx: Callable[[str], TenantContext]) -> None:
    ctx = tenant_ctx("wishlist")
    async with ctx.db.transaction() as conn:
        token = await ctx.refresh.issue(conn, "user-3")
        await conn.exec_driver_sql(
            "UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE subject = 'user-3'"
        )
    await expect_refused(ctx, token, "invalid_refresh_token")
