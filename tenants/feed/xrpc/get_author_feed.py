"""``app.bsky.feed.getAuthorFeed``: an account's posts and reposts, with the lexicon's filters."""

from __future__ import annotations

import orjson
from starlette.responses import Response

from shared.http.responses import raw_json_response
from tenants.feed import params
from tenants.feed.db import acquire
from tenants.feed.views.pages import AUTHOR_FILTERS, SKELETONS, Page, feed_page
from tenants.feed.xrpc.base import Call, Method, invalid

FILTERS = ("posts_with_replies", "posts_no_replies", "posts_with_media", "posts_and_author_threads", "posts_with_video")
BLOCKS = """
SELECT blocking_uri IS NOT NULL AS blocking, blocked_by_uri IS NOT NULL AS blocked_by
FROM viewer_actor_state WHERE viewer_did = $1 AND subject_did = $2
"""
# The author's own post their profile record pins (a pin of someone else's post is not shown;
# the rule is migration 0016's, which postView.viewer.pinned follows too).
PINNED_URI = "SELECT feed_own_pin(did, record) FROM profiles WHERE did = $1"
PIN_REASON = {"$type": "app.bsky.feed.defs#reasonPin"}


async def handle(call: Call) -> Response:
    viewer = await call.maybe_viewer()
    did = await call.actor()
    limit = call.limit()
    kind = params.open_choice(call.params, "filter", FILTERS, "posts_with_replies")
    pins = params.flag(call.params, "includePins")
    async with acquire(call.av.ctx) as conn:
        block = await conn.fetchrow(BLOCKS, viewer, did) if viewer else None
        if block is not None and block["blocking"]:
            raise invalid("Requester has blocked actor", "BlockedActor")
        if block is not None and block["blocked_by"]:
            raise invalid("Requester is blocked by actor", "BlockedByActor")
        cursor = call.params.get("cursor")
        page = await feed_page(conn, call.av.cursors, AUTHOR_FILTERS[kind], viewer, limit, cursor, did)
        pinned = await conn.fetchval(PINNED_URI, did) if pins and not cursor else None
        if pinned is not None:
            page = with_pin(page, await feed_page(conn, call.av.cursors, SKELETONS["pinned"], viewer, 1, None, pinned))
    return raw_json_response(page.body("feed"))


def with_pin(page: Page, pin: Page) -> Page:
    """The first page with the pinned post on top (``reasonPin``), and not again below, as Bluesky's
    AppView shows it; a pinned post that is gone, hidden or blocked shows nothing."""
    pinned = orjson.loads(pin.items)
    if not pinned:
        return page
    top = {**pinned[0], "reason": PIN_REASON}
    rest = [item for item in orjson.loads(page.items) if item["post"]["uri"] != top["post"]["uri"]]
    return Page(orjson.dumps([top, *rest]).decode(), page.cursor)


METHOD = Method("query", handle)
