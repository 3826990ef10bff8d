"""``/api/profile/{actor}``: a profile with the viewer's follow state, and its lists.

An inactive account's profile and sections answer 404 ``account_inactive`` with
``details.status`` (takendown, suspended, deactivated or deleted), until it is active again.
"""

from __future__ import annotations

import asyncpg
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.errors import ApiError, not_found
from shared.http.responses import raw_json_response
from tenants.feed import params
from tenants.feed.appview import AppView
from tenants.feed.db import acquire
from tenants.feed.views import actors
from tenants.feed.views.pages import AUTHOR_FILTERS, SKELETONS, feed_page

# Section → the skeleton of its feed (followers/following are account lists instead).
FEEDS = {
    "posts": AUTHOR_FILTERS["posts_no_replies"],
    "replies": AUTHOR_FILTERS["replies_only"],
    "media": AUTHOR_FILTERS["posts_with_media"],
    "likes": SKELETONS["likes"],
}
LISTS = {"followers": "followers", "following": "follows"}
MESSAGES = {
    "takendown": "This account has been taken down.",
    "suspended": "This account is suspended.",
    "deactivated": "This account is deactivated.",
    "deleted": "This account has been deleted.",
}


def inactive(status: str) -> ApiError:
    """404 ``account_inactive`` for an account of this status."""
    message = MESSAGES.get(status, "This account is not active.")
    return ApiError(404, "account_inactive", message, details={"status": status})


async def active_did(conn: asyncpg.Connection, actor: str) -> str:
    """The DID of the stored account ``actor`` names (404 when unknown or inactive)."""
    account = await actors.lookup(conn, actor)
    if account is None:
        raise not_found("profile")
    if account.status is not None:
        raise inactive(account.status)
    return account.did


def routes(av: AppView) -> list[Route]:
    """Profile routes."""

    async def profile(request: Request) -> Response:
        """A profile (``profileViewDetailed``) by handle or DID."""
        viewer = await av.maybe_viewer(request)
        async with acquire(av.ctx) as conn:
            did = await active_did(conn, request.path_params["actor"])
            view = await actors.profiles(conn, [did], viewer)
        return raw_json_response(view[1:-1])

    async def section(request: Request) -> Response:
        """The account's ``posts``, ``replies``, ``media``, ``likes``, ``followers`` or ``following``."""
        name = request.path_params["section"]
        if name not in FEEDS and name not in LISTS:
            raise not_found("profile section")
        viewer = await av.maybe_viewer(request)
        limit, cursor = params.limit(request.query_params), request.query_params.get("cursor")
        async with acquire(av.ctx) as conn:
            did = await active_did(conn, request.path_params["actor"])
            if name in FEEDS:
                page = await feed_page(conn, av.cursors, FEEDS[name], viewer, limit, cursor, did)
                return raw_json_response(page.body("feed"))
            page = await actors.graph(conn, av.cursors, LISTS[name], did, viewer, limit, cursor)
            subject = await actors.profiles(conn, [did], viewer, level=1)
        return raw_json_response(page.body(name, b'"subject":' + subject[1:-1].encode() + b","))

    return [
        Route("/api/profile/{actor}", profile, methods=["GET"]),
        Route("/api/profile/{actor}/{section}", section, methods=["GET"]),
    ]
