"""After the vote: the finalised event as an iCalendar file, and memories attached to it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.errors import ApiError, not_found
from shared.http.body import read_json
from shared.http.responses import json_response, raw_json_response
from shared.tenant import TenantContext
from tenants.seacalendar import ics, store
from tenants.seacalendar.polls import room
from tenants.seacalendar.schemas import MemoryIn
from tenants.seacalendar.settings import sea_settings
from tenants.seacalendar.users import current_user_id, load_user

# The memories list is one answer, so an event keeps a bounded number (notes are up to 5,000 characters).
MAX_MEMORIES_PER_POLL = 500
# The instants come from PostgreSQL, as the reminders' do (reminders.EVENT_START): a local time
# the clocks pass twice, or skip, is then the same instant in the calendar and in the reminders.
EVENT = """SELECT p.id, p.title, p.description, p.timezone, o.id AS option_id, o.label, o.date, o.start_time,
    o.end_time, (o.date + o.start_time) AT TIME ZONE p.timezone AS starts_at,
    (o.date + o.end_time) AT TIME ZONE p.timezone AS ends_at,
    v.name AS venue, v.address, v.url FROM polls p JOIN poll_options o ON o.id = p.finalized_option_id
    LEFT JOIN venues v ON v.id = p.venue_id WHERE p.id = :id"""

MEMORIES = """SELECT COALESCE(json_agg(json_build_object('id', m.id, 'kind', m.kind, 'text', m.text, 'url', m.url,
    'created_at', m.created_at, 'author', json_build_object('id', u.id, 'display_name', u.display_name))
    ORDER BY m.id), '[]'::json)::text FROM memories m JOIN users u ON u.id = m.author_id WHERE m.poll_id = :id"""


def calendar_event(row: Any, host: str, public_url: str) -> ics.CalendarEvent:
    """The iCalendar view of a finalised poll row."""
    if row.date is None:
        raise ApiError(409, "not_an_event", "The chosen option has no date, so there is no calendar event.")
    start: date | datetime = row.starts_at if row.start_time is not None else row.date
    end: datetime | None = row.ends_at if row.start_time is not None else None
    location = ", ".join(part for part in (row.venue, row.address) if part)
    return ics.CalendarEvent(
        # Stable whichever name the box was reached by, so calendars update the event they have.
        uid=f"seacalendar-poll-{row.id}-{row.option_id}@{urlsplit(public_url).hostname or host}",
        title=row.title,
        start=start,
        end=end,
        description="\n".join(part for part in (row.label, row.description) if part),
        location=location,
        url=row.url or (f"{public_url.rstrip('/')}/seacalendar/#poll={row.id}" if public_url else ""),
    )


def routes(ctx: TenantContext) -> list[Route]:
    """``/api/polls/{id}/event.ics``, ``/api/polls/{id}/memories`` and ``.../memories/{memory_id}``."""
    settings = sea_settings(ctx)

    async def event_ics(request: Request) -> Response:
        """The finalised event as an iCalendar file."""
        user_id = await current_user_id(ctx, request)
        async with ctx.db.connect() as conn:
            poll = await store.visible_poll(conn, request.path_params["poll_id"], user_id)
            store.require_status(poll, "finalized")
            row = (await conn.execute(sa.text(EVENT), {"id": poll.id})).first()
        if row is None:  # deleted (with its creator's account) since it was looked up
            raise not_found("poll")
        event = calendar_event(row, request.url.hostname or "onebox", settings.seacalendar_public_url)
        return Response(
            ics.build(event),
            media_type="text/calendar; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="seacalendar-{poll.id}.ics"'},
        )

    async def list_memories(request: Request) -> Response:
        """Notes and links attached to the poll, oldest first."""
        user_id = await current_user_id(ctx, request)
        async with ctx.db.connect() as conn:
            poll = await store.visible_poll(conn, request.path_params["poll_id"], user_id)
            text = (await conn.execute(sa.text(MEMORIES), {"id": poll.id})).scalar_one()
        return raw_json_response(f'{{"memories": {text}}}')

    async def add_memory(request: Request) -> Response:
        """Attach a note or a link to a finalised event."""
        user_id = await current_user_id(ctx, request)
        body = await read_json(request, MemoryIn)
        async with ctx.db.transaction() as conn:
            author = await load_user(conn, user_id, lock=True)
            # Locked, so that memories added at the same moment count against the cap one by one.
            poll = await store.visible_poll(conn, request.path_params["poll_id"], user_id, lock=True)
            store.require_status(poll, "finalized")
            held = await conn.execute(sa.text("SELECT count(*) FROM memories WHERE poll_id = :p"), {"p": poll.id})
            if held.scalar_one() >= MAX_MEMORIES_PER_POLL:
                raise ApiError(409, "too_many_memories", f"An event keeps at most {MAX_MEMORIES_PER_POLL} memories.")
            row = (
                await conn.execute(
                    sa.text(
                        "INSERT INTO memories (poll_id, author_id, kind, text, url) VALUES (:p, :a, :k, :t, :u) "
                        "RETURNING id, kind, text, url, created_at"
                    ),
                    {"p": poll.id, "a": user_id, "k": body.kind, "t": body.text, "u": body.url},
                )
            ).one()
            # Shaped as the list's items, so a page watching the event can show it as it is.
            memory = {
                **row._mapping,
                "poll_id": poll.id,
                "author_id": user_id,
                "author": {"id": user_id, "display_name": author["display_name"]},
            }
            await ctx.bus.publish(conn, "memory_added", room(poll.id), memory)
        return json_response(memory, status=201)

    async def remove_memory(request: Request) -> Response:
        """Remove a memory (204): its author may, and so may the event's creator, who looks after the event."""
        user_id = await current_user_id(ctx, request)
        memory_id = store.check_id(request.path_params["memory_id"], "memory")
        async with ctx.db.transaction() as conn:
            poll = await store.visible_poll(conn, request.path_params["poll_id"], user_id)
            author = await conn.scalar(
                sa.text("SELECT author_id FROM memories WHERE id = :m AND poll_id = :p FOR UPDATE"),
                {"m": memory_id, "p": poll.id},
            )
            if author is None:
                raise not_found("memory")
            if user_id not in (author, poll.creator_id):
                raise ApiError(403, "not_author", "Only the memory's author or the event's creator can remove it.")
            await conn.execute(sa.text("DELETE FROM memories WHERE id = :m"), {"m": memory_id})
            data = {"poll_id": poll.id, "memory_ids": [memory_id]}
            await ctx.bus.publish(conn, "memories_removed", room(poll.id), data)
        return Response(status_code=204)

    return [
        Route("/api/polls/{poll_id:id}/event.ics", event_ics, methods=["GET"]),
        Route("/api/polls/{poll_id:id}/memories", list_memories, methods=["GET"]),
        Route("/api/polls/{poll_id:id}/memories", add_memory, methods=["POST"]),
        Route("/api/polls/{poll_id:id}/memories/{memory_id:id}", remove_memory, methods=["DELETE"]),
    ]
