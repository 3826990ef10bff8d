"""Refresh tokens rotate on use; a spent one is honoured for a short grace, then its reuse revokes the sign-in."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from shared.errors import ApiError
from shared.tenant import TenantContext
from tests.support.refresh import AGE_SPENT


async def rotate(ctx: TenantContext, token: str) -> tuple[str, str]:
    return await ctx.refresh.rotate(ctx.db, token)


async def expect_refused(ctx: TenantContext, token: str, code: str) -> None:
    with pytest.raises(ApiError) as info:
        await rotate(ctx, token)
    assert (info.value.status, info.value.code) == (401, code)


async def age_spent(ctx: TenantContext) -> None:
    async with ctx.db.transaction() as conn:
        await conn.exec_driver_sql(AGE_SPENT)


async def issue(ctx: TenantContext, subject: str) -> str:
    async with ctx.db.transaction() as conn:
        return await ctx.refresh.issue(conn, subject)


async def test_rotation_and_reuse_detection(tenant_ctx: Callable[[str], TenantContext]) -> None:
    ctx = tenant_ctx("wishlist")
    first = await issue(ctx, "user-1")
    subject, second = await rotate(ctx, first)
    assert subject == "user-1" and second != first
    subject, third = await rotate(ctx, second)
    assert subject == "user-1"
    await age_spent(ctx)
    # Replaying a token spent long ago is theft or a bug: the whole family dies, including the newest.
    await expect_refused(ctx, first, "refresh_token_reused")
    await expect_refused(ctx, third, "refresh_token_reused")


async def test_a_spent_token_is_honoured_within_the_grace(tenant_ctx: Callable[[str], TenantContext]) -> None:
    ctx = tenant_ctx("wishlist")
    first = await issue(ctx, "user-grace")
    _, second = await rotate(ctx, first)
    # A second tab (or a retry after a lost answer) sends the same token: it gets its own new token.
    subject, sibling = await rotate(ctx, first)
    assert subject == "user-grace" and sibling not in (first, second)
    # Both branches stay signed in and rotate on.
    assert (await rotate(ctx, second))[0] == (await rotate(ctx, sibling))[0] == "user-grace"
    await age_spent(ctx)
    await expect_refused(ctx, first, "refresh_token_reused")
    await expect_refused(ctx, sibling, "refresh_token_reused")


async def test_tabs_refreshing_together_all_stay_signed_in(tenant_ctx: Callable[[str], TenantContext]) -> None:
    ctx = tenant_ctx("wishlist")
    token = await issue(ctx, "user-tabs")
    answers = await asyncio.gather(*(rotate(ctx, token) for _ in range(8)))
    fresh = {new for _, new in answers}
    assert len(fresh) == 8 and token not in fresh
    for new in fresh:
        assert (await rotate(ctx, new))[0] == "user-tabs"


async def test_no_grace_for_a_revoked_or_expired_token(tenant_ctx: Callable[[str], TenantContext]) -> None:
    ctx = tenant_ctx("wishlist")
    token = await issue(ctx, "user-out")
    _, rotated = await rotate(ctx, token)
    async with ctx.db.transaction() as conn:
        assert await ctx.refresh.revoke(conn, rotated) == "user-out"
    # Logging out ends the sign-in at once, grace or not.
    await expect_refused(ctx, token, "refresh_token_reused")
    late = await issue(ctx, "user-late")
    await rotate(ctx, late)
    async with ctx.db.transaction() as conn:
        await conn.exec_driver_sql(
            "UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE subject = 'user-late'"
        )
    await expect_refused(ctx, late, "invalid_refresh_token")


async def test_grace_zero_is_strict(tenant_ctx: Callable[[str], TenantContext]) -> None:
    ctx = tenant_ctx("wishlist")
    strict = type(ctx.refresh)(ctx.refresh.ttl, grace=0)
    async with ctx.db.transaction() as conn:
        token = await strict.issue(conn, "user-strict")
    _, newer = await strict.rotate(ctx.db, token)
    with pytest.raises(ApiError) as info:
        await strict.rotate(ctx.db, token)
    assert info.value.code == "refresh_token_reused"
    await expect_refused(ctx, newer, "refresh_token_reused")


async def test_unknown_and_revoked(tenant_ctx: Callable[[str], TenantContext]) -> None:
    ctx = tenant_ctx("wishlist")
    await expect_refused(ctx, "no-such-token", "invalid_refresh_token")
    async with ctx.db.transaction() as conn:
        token = await ctx.refresh.issue(conn, "user-2")
        assert await ctx.refresh.revoke(conn, token) == "user-2"
        assert await ctx.refresh.revoke(conn, "unknown") is None
    await expect_refused(ctx, token, "refresh_token_reused")


async def test_expired_refresh_token(tenant_ctx: Callable[[str], TenantContext]) -> None:
    ctx = tenant_ctx("wishlist")
    async with ctx.db.transaction() as conn:
        token = await ctx.refresh.issue(conn, "user-3")
        await conn.exec_driver_sql(
            "UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE subject = 'user-3'"
        )
    await expect_refused(ctx, token, "invalid_refresh_token")


async def test_forgetting_a_subject_deletes_every_sign_in_of_it_only(
    tenant_ctx: Callable[[str], TenantContext],
) -> None:
    ctx = tenant_ctx("wishlist")
    first, second, other = await issue(ctx, "user-gone"), await issue(ctx, "user-gone"), await issue(ctx, "user-stays")
    async with ctx.db.transaction() as conn:
        await ctx.refresh.forget_subject(conn, "user-gone")
        left = await conn.scalar(sa.text("SELECT count(*) FROM refresh_tokens WHERE subject = 'user-gone'"))
    assert left == 0
    for token in (first, second):
        await expect_refused(ctx, token, "invalid_refresh_token")  # not even "reused": nothing is kept
    assert (await rotate(ctx, other))[0] == "user-stays"
