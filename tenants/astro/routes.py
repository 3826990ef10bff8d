"""Profile, charts, members and matches."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.errors import ApiError
from shared.http.body import parse_model, read_json
from shared.http.responses import json_response
from shared.tenant import TenantContext
from tenants.astro import places, profiles
from tenants.astro.auth_routes import member_id
from tenants.astro.birthtime import to_utc
from tenants.astro.charts import Birth, compute_chart
from tenants.astro.compat import Moon, mutual
from tenants.astro.models import BirthPlace, MatchesQuery, ProfileIn
from tenants.astro.settings import AstroSettings

# Kootas depend only on each Moon's sign, nakshatra and vashya group (~120 kinds of Moon), so
# ranking thousands of members is one table lookup each.
_mutual = lru_cache(maxsize=16384)(mutual)


async def _place(conn: Any, spec: BirthPlace) -> places.Place:
    if spec.lat is not None and spec.lon is not None:
        return await places.at(spec.lat, spec.lon, spec.name)
    if spec.geonameid is not None:
        return await places.by_id(conn, spec.geonameid)
    assert spec.city is not None  # the model guarantees one way
    return await places.by_name(conn, spec.city, spec.country.upper() if spec.country else None)


def routes(ctx: TenantContext, settings: AstroSettings) -> list[Route]:
    """Routes under ``/api`` besides auth."""

    async def get_profile(request: Request) -> Response:
        """Your own profile: Mastodon account, birth data, D1 and D9 charts."""
        member = await member_id(ctx, request)
        async with ctx.db.connect() as conn:
            return json_response(await profiles.own_profile(conn, member))

    async def put_profile(request: Request) -> Response:
        """Save birth date, time and place; the charts are computed and stored with them."""
        member = await member_id(ctx, request)
        body = await read_json(request, ProfileIn)
        async with ctx.db.connect() as conn:
            place = await _place(conn, body.birth_place)
        local = to_utc(body.birth_date, body.birth_time, place.timezone, body.fold, datetime.now(UTC))
        chart = compute_chart(
            Birth(local.moment, place.latitude, place.longitude, local.time_known, local.day_start, local.day_end)
        )
        birth_input = {
            "date": body.birth_date.isoformat(),
            "time": body.birth_time.strftime("%H:%M") if body.birth_time else None,
            "time_known": local.time_known,
            "fold": body.fold,
            "timezone": place.timezone,
            "utc_offset": local.utc_offset,
        }
        async with ctx.db.transaction() as conn:
            await profiles.save_profile(
                conn,
                member,
                birth=local.moment,
                birth_input=birth_input,
                location=place.as_dict(),
                chart=chart,
                visibility=body.visibility,
            )
            return json_response(await profiles.own_profile(conn, member))

    async def delete_profile(request: Request) -> Response:
        """Delete your birth data and charts (your Mastodon link stays; you become private)."""
        member = await member_id(ctx, request)
        async with ctx.db.transaction() as conn:
            await profiles.clear_profile(conn, member)
        return Response(status_code=204)

    async def delete_account(request: Request) -> Response:
        """Delete your account: Mastodon link, birth data, charts and every sign-in, at once."""
        member = await member_id(ctx, request)
        async with ctx.db.transaction() as conn:
            await profiles.delete_member(conn, member)
            await ctx.refresh.forget_subject(conn, str(member))
        return Response(status_code=204)

    async def get_member(request: Request) -> Response:
        """A visible member's chart summary (signs only, never birth data)."""
        await member_id(ctx, request)
        async with ctx.db.connect() as conn:
            row = await profiles.visible_row(conn, request.path_params["member_id"])
        return json_response(profiles.summary(row))

    async def _own_moon(conn: Any, member: Any) -> tuple[float, bool]:
        moon = await profiles.moon_of(conn, member)
        if moon is None:
            raise ApiError(409, "no_chart", "Save your birth data first: matching needs your chart.")
        return moon

    async def get_match(request: Request) -> Response:
        """Ashtakoota (guna milan) with one visible member: the eight kootas, out of 36."""
        member = await member_id(ctx, request)
        other = request.path_params["member_id"]
        try:
            same = uuid.UUID(other) == member  # however the id is spelt
        except ValueError:
            same = False  # not an id: visible_row answers 404
        if same:
            raise ApiError(400, "self_match", "A chart always matches itself; pick another member.")
        async with ctx.db.connect() as conn:
            mine, mine_unsure = await _own_moon(conn, member)
            row = await profiles.visible_row(conn, other)
        result = _mutual(Moon.at(mine), Moon.at(row.moon_longitude))
        uncertain = mine_unsure or row.moon_uncertain
        return json_response({"member": profiles.summary(row), **result, "uncertain": uncertain})

    async def get_matches(request: Request) -> Response:
        """Visible members ranked by Ashtakoota score, best first."""
        member = await member_id(ctx, request)
        query = parse_model(MatchesQuery, dict(request.query_params))
        async with ctx.db.connect() as conn:
            mine, mine_unsure = await _own_moon(conn, member)
            rows = await profiles.visible_moons(conn, member, settings.astro_matches_scan_limit)
        viewer = Moon.at(mine)
        ranked = sorted(
            ((_mutual(viewer, Moon.at(r.moon_longitude)), r) for r in rows),
            key=lambda pair: (-pair[0]["score"], pair[1].display_name.casefold()),
        )[: query.limit]
        matches = [
            {
                "member": profiles.public_member(r, r.moon_longitude, r.moon_uncertain),
                "score": s["score"],
                "max": s["max"],
                "viewer_as": s["viewer_as"],
                "uncertain": mine_unsure or r.moon_uncertain,
            }
            for s, r in ranked
        ]
        return json_response({"matches": matches, "count": len(matches)})

    return [
        Route("/api/profile", get_profile, methods=["GET"]),
        Route("/api/profile", put_profile, methods=["PUT"]),
        Route("/api/profile", delete_profile, methods=["DELETE"]),
        Route("/api/account", delete_account, methods=["DELETE"]),
        Route("/api/members/{member_id}", get_member, methods=["GET"]),
        Route("/api/match/{member_id}", get_match, methods=["GET"]),
        Route("/api/matches", get_matches, methods=["GET"]),
    ]
