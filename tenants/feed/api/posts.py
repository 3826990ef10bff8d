"""``/api/post``: a post, its thread and replies; writing posts and replies; deleting one's own."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.errors import ApiError, not_found
from shared.http.body import read_json
from shared.http.responses import json_response, raw_json_response
from tenants.feed import params
from tenants.feed.api.schemas import NewPost, NewReply
from tenants.feed.appview import AppView
from tenants.feed.db import acquire
from tenants.feed.indexer.records import POST
from tenants.feed.views import posts as post_views
from tenants.feed.views.actors import by_did
from tenants.feed.views.pages import SKELETONS, feed_page
from tenants.feed.writes import Writes, now_iso, record_ref, split_uri

SECTIONS = ("thread", "replies")


def split_section(rest: str) -> tuple[str, str | None]:
    """``<uri>``, ``<uri>/thread`` or ``<uri>/replies`` → (uri, section)."""
    head, _, tail = rest.rpartition("/")
    if tail in SECTIONS and (params.AT_URI.match(head) or params.HANDLE_AT_URI.match(head)):
        return head, tail
    return rest, None


def post_record(body: NewPost) -> dict[str, Any]:
    """An ``app.bsky.feed.post`` record from a request body."""
    record: dict[str, Any] = {"$type": POST, "text": body.text, "createdAt": now_iso()}
    for key in ("langs", "facets", "embed"):
        if getattr(body, key) is not None:
            record[key] = getattr(body, key)
    return record


def routes(av: AppView, writes: Writes) -> list[Route]:
    """Post reads and writes."""

    async def read(request: Request) -> Response:
        """A post (``/post/<uri>``), its thread (``/thread``) or its replies (``/replies``, newest first)."""
        asked, section = split_section(request.path_params["rest"])
        params.post_uri_any_authority(asked)
        viewer = await av.maybe_viewer(request)
        query = request.query_params
        async with acquire(av.ctx) as conn:
            uri = await by_did(conn, asked)
            if uri is None:
                raise not_found("post")
            if section == "thread":
                depth = params.integer(query, "depth", 6, 0, 1000)
                height = params.integer(query, "parentHeight", 80, 0, 1000)
                doc = await post_views.thread(conn, uri, viewer, depth, height)
                if doc is None:
                    raise not_found("post")
                return raw_json_response(doc)
            if section == "replies":
                limit, cursor = params.limit(query), query.get("cursor")
                page = await feed_page(conn, av.cursors, SKELETONS["replies"], viewer, limit, cursor, uri)
                return raw_json_response(page.body("replies"))
            view = await post_views.post_ref(conn, uri, viewer)
        if view is None:
            raise not_found("post")
        return raw_json_response(b'{"post":' + view.encode() + b"}")

    async def created(did: str, record: dict[str, Any]) -> Response:
        written = record_ref(await writes.create(did, POST, record))
        async with acquire(av.ctx) as conn:
            view = await post_views.post_ref(conn, written["uri"], did)
        return json_response({**written, "post": orjson.Fragment(view) if view else None}, status=201)

    async def create(request: Request) -> Response:
        """Publish a post to the member's PDS; it is in the feeds at once."""
        viewer = await av.viewer(request)
        body = await read_json(request, NewPost)
        return await created(viewer, post_record(body))

    async def reply(request: Request) -> Response:
        """Reply to a stored post (``parentUri``, by DID or handle; the thread root is looked up when not given)."""
        viewer = await av.viewer(request)
        body = await read_json(request, NewReply)
        asked_parent = params.post_uri_any_authority(body.parent_uri, "parentUri")
        asked_root = params.post_uri_any_authority(body.root_uri, "rootUri") if body.root_uri else None
        async with acquire(av.ctx) as conn:
            parent = await by_did(conn, asked_parent)
            row = await conn.fetchrow("SELECT cid, reply_root_uri FROM posts WHERE uri = $1", parent)
            if parent is None or row is None:
                raise not_found("parent post")
            root = await by_did(conn, asked_root) if asked_root else row["reply_root_uri"] or parent
            root_cid = (
                row["cid"] if root == parent else await conn.fetchval("SELECT cid FROM posts WHERE uri = $1", root)
            )
        if root is None or root_cid is None:
            raise not_found("thread root")
        record = post_record(body)
        record["reply"] = {"root": {"uri": root, "cid": root_cid}, "parent": {"uri": parent, "cid": row["cid"]}}
        return await created(viewer, record)

    async def delete(request: Request) -> Response:
        """Delete one of the member's own posts."""
        viewer = await av.viewer(request)
        asked = params.post_uri_any_authority(request.path_params["rest"])
        async with acquire(av.ctx) as conn:
            uri = await by_did(conn, asked)
        if uri is None:
            raise not_found("post")
        did, collection, rkey = split_uri(uri)
        if did != viewer:
            raise ApiError(403, "forbidden", "Only the author can delete a post.")
        await writes.delete(viewer, collection, rkey)
        return Response(status_code=204)

    return [
        Route("/api/post", create, methods=["POST"]),
        Route("/api/reply", reply, methods=["POST"]),
        Route("/api/post/{rest:path}", read, methods=["GET"]),
        Route("/api/post/{rest:path}", delete, methods=["DELETE"]),
    ]
