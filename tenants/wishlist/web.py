"""Request plumbing the route modules share: the caller, path ids, query strings."""

from __future__ import annotations

from typing import TypeVar

import asyncpg
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request

from shared.errors import ApiError, not_found, unauthorized
from shared.http.body import parse_model
from shared.tenant import TenantContext
from tenants.wishlist.schemas import BIGINT_MAX

M = TypeVar("M", bound=BaseModel)
FOREIGN_KEY_VIOLATION = "23503"


def invalid(field: str, message: str) -> ApiError:
    """422 in the same shape as a body that failed validation."""
    return ApiError(
        422, "validation_error", "The request is not valid.", details=[{"field": field, "message": message}]
    )


async def claimed_caller_id(ctx: TenantContext, request: Request) -> int:
    """The user id a valid bearer token names, or 401; whether the account still exists is unchecked.

    Only for reads whose answer proves the account (an own wishlist found); use :func:`caller_id`.
    """
    claims = await ctx.tokens.authenticate(request)
    if not claims.subject.isdigit() or int(claims.subject) > BIGINT_MAX:
        raise unauthorized("The access token is invalid.")
    return int(claims.subject)


async def account_exists(db: asyncpg.Connection, user_id: int) -> bool:
    """Whether the account exists (a primary-key probe)."""
    return bool(await db.fetchval("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)", user_id))


async def caller_id(ctx: TenantContext, request: Request) -> int:
    """The signed-in user's id from the bearer token, or 401 (also once the account is deleted).

    An access token outlives its account's deletion by up to its 15 minutes, so the account is
    looked up: one primary-key probe on the asyncpg driver. No cache: another gateway process may
    have deleted the account, and a cache would keep answering for it.
    """
    user_id = await claimed_caller_id(ctx, request)
    async with ctx.db.raw() as db:
        if not await account_exists(db, user_id):
            raise signed_out()
    return user_id


async def optional_caller_id(ctx: TenantContext, request: Request) -> int | None:
    """The caller's id when a bearer token is sent (a bad one is still 401), else None."""
    if "authorization" not in request.headers:
        return None
    return await caller_id(ctx, request)


def account_gone(exc: IntegrityError) -> bool:
    """Whether a write failed on the owner's foreign key: the caller's account no longer exists.

    :func:`caller_id` checked the account, but it may be deleted before the write commits.
    """
    return getattr(exc.orig, "sqlstate", None) == FOREIGN_KEY_VIOLATION


def signed_out() -> ApiError:
    """401 for a token whose account is gone."""
    return unauthorized("Your account no longer exists; sign in again.")


def path_id(request: Request, what: str, name: str = "id") -> int:
    """An ``{id:id}`` path parameter; one too large for a database id is just unknown (404)."""
    value: int = request.path_params[name]
    if not 0 < value <= BIGINT_MAX:
        raise not_found(what)
    return value


def query(request: Request, model: type[M]) -> M:
    """The query string as ``model``, or 422."""
    return parse_model(model, dict(request.query_params))
