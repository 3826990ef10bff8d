"""``app.bsky.feed.getAuthorFeed``: an account's posts and reposts, with the lexicon's filters."""

from __future__ import annotations

from starlette.responses import Response

from shared.http.responses import raw_json_response
from tenants.feed import params
from tenants.feed.db import acquire
from tenants.feed.views.pages import AUTHOR_FILTERS, feed_page
from tenants.feed.xrpc.base import Call, Method, invalid

FILTERS = ("posts_with_replies", "posts_no_replies", "posts_with_media", "posts_and_author_threads", "posts_with_video")
BLOCKS = """
SELECT blocking_uri IS NOT NULL AS blocking, blocked_by_uri IS NOT NULL AS blocked_by
FROM viewer_actor_state WHERE viewer_did = $1 AND subject_did = $2
"""


async def handle(call: Call) -> Response:
    viewer = await call.maybe_viewer()
    did = await call.actor()
    limit = call.limit()
    kind = params.open_choice(call.params, "filter", FILTERS, "posts_with_replies")
    async with acquire(call.av.ctx) as conn:
        block = await conn.fetchrow(BLOCKS, viewer, did) if viewer else None
        if block is not None and block["blocking"]:
            raise invalid("Requester has blocked actor", "BlockedActor")
        if block is not None and block["blocked_by"]:
            raise invalid("Requester is blocked by actor", "BlockedByActor")
        page = await feed_page(
            conn, call.av.cursors, AUTHOR_FILTERS[kind], viewer, limit, call.params.get("cursor"), did
        )
    return raw_json_response(page.body("feed"))


METHOD = Method("query", handle)
