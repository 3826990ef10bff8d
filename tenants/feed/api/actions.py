"""``/api/{like,unlike,repost,unrepost,follow,unfollow}``: records written through the member's PDS.

Each answer carries the updated view (post counts and viewer state, or the profile's follow
state), read after the local index changed, so the app needs no optimistic bookkeeping.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.errors import ApiError, not_found
from shared.http.body import read_json
from shared.http.responses import json_response
from tenants.feed import params
from tenants.feed.api.schemas import ActorRef, PostRef
from tenants.feed.appview import AppView
from tenants.feed.db import acquire
from tenants.feed.indexer.processors import graph, subject
from tenants.feed.indexer.records import FOLLOW, LIKE, REPOST
from tenants.feed.views import actors, posts
from tenants.feed.writes import Writes, now_iso, record_ref, split_uri

POST_STATE = {LIKE: "like_uri", REPOST: "repost_uri"}
PAIRS = {LIKE: subject.LIKES.pairs, REPOST: subject.REPOSTS.pairs, FOLLOW: graph.FOLLOWS.pairs}


def routes(av: AppView, writes: Writes) -> list[Route]:
    """Action routes."""

    async def every_record(collection: str, viewer: str, target: str, kept: str | None) -> list[str]:
        """The pair's waiting records, then the kept one: undoing deletes them all, or one would take over."""
        async with acquire(av.ctx) as conn:
            waiting = [r["uri"] for r in await conn.fetch(PAIRS[collection].waiting(), viewer, target)]
        return waiting + ([kept] if kept else [])

    async def post_view(viewer: str, uri: str) -> orjson.Fragment:
        async with acquire(av.ctx) as conn:
            view = await posts.post_ref(conn, uri, viewer)
        return orjson.Fragment(view or "null")

    def on_post(collection: str, undo: bool) -> Callable[[Request], Awaitable[Response]]:
        column = POST_STATE[collection]

        async def act(request: Request) -> Response:
            viewer = await av.viewer(request)
            body = await read_json(request, PostRef)
            asked = params.post_uri_any_authority(body.uri)
            async with writes.turn(viewer):
                async with acquire(av.ctx) as conn:
                    uri = await actors.by_did(conn, asked)
                    row = await conn.fetchrow(
                        f"SELECT p.cid, s.{column} AS mine FROM posts p LEFT JOIN viewer_post_state s "
                        "ON s.post_uri = p.uri AND s.viewer_did = $2 WHERE p.uri = $1",
                        uri,
                        viewer,
                    )
                if uri is None or row is None:
                    raise not_found("post")
                if undo:
                    for record_uri in await every_record(collection, viewer, uri, row["mine"]):
                        await writes.delete(viewer, collection, split_uri(record_uri)[2])
                    return json_response({"post": await post_view(viewer, uri)})
                if row["mine"] is not None:
                    raise ApiError(409, "already_done", "This post is already liked or reposted by you.")
                record = {"subject": {"uri": uri, "cid": body.cid or row["cid"]}, "createdAt": now_iso()}
                written = record_ref(await writes.create(viewer, collection, record))
            return json_response({**written, "post": await post_view(viewer, uri)})

        act.__doc__ = f"{'Undo' if undo else 'Create'} a {collection.rsplit('.', 1)[-1]} of a post (body: uri)."
        return act

    def on_actor(undo: bool) -> Callable[[Request], Awaitable[Response]]:
        async def act(request: Request) -> Response:
            viewer = await av.viewer(request)
            body = await read_json(request, ActorRef)
            if body.did == viewer:
                raise ApiError(400, "invalid_subject", "You cannot follow yourself.")
            written: dict[str, str] = {}
            async with writes.turn(viewer):
                async with acquire(av.ctx) as conn:
                    mine = await conn.fetchval(
                        "SELECT follow_uri FROM viewer_actor_state WHERE viewer_did = $1 AND subject_did = $2",
                        viewer,
                        body.did,
                    )
                if undo and mine is not None:
                    for record_uri in await every_record(FOLLOW, viewer, body.did, mine):
                        await writes.delete(viewer, FOLLOW, split_uri(record_uri)[2])
                elif not undo and mine is not None:
                    raise ApiError(409, "already_done", "You already follow this account.")
                elif not undo:
                    follow = {"subject": body.did, "createdAt": now_iso()}
                    written = record_ref(await writes.create(viewer, FOLLOW, follow))
            async with acquire(av.ctx) as conn:
                view = await actors.profiles(conn, [body.did], viewer)
            return json_response({**written, "profile": orjson.Fragment(view[1:-1] or "null")})

        act.__doc__ = f"{'Unfollow' if undo else 'Follow'} an account (body: did)."
        return act

    return [
        Route("/api/like", on_post(LIKE, undo=False), methods=["POST"]),
        Route("/api/unlike", on_post(LIKE, undo=True), methods=["POST"]),
        Route("/api/repost", on_post(REPOST, undo=False), methods=["POST"]),
        Route("/api/unrepost", on_post(REPOST, undo=True), methods=["POST"]),
        Route("/api/follow", on_actor(undo=False), methods=["POST"]),
        Route("/api/unfollow", on_actor(undo=True), methods=["POST"]),
    ]
