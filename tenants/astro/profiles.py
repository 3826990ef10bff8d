"""Profile rows: Mastodon identity, birth data and charts — and the views each reader may get.

The owner's view carries the birth data; every other view is built from an explicit, short
list of chart facts (signs and the Moon's nakshatra), never from the row, so no later column
can leak into it by accident.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.auth.mastodon import MastodonAccount
from shared.errors import ApiError, not_found, unauthorized
from tenants.astro.charts.zodiac import NAKSHATRAS, SIGNS, nakshatra_index, sign_index

_OWN = (
    "SELECT id, mastodon_instance, mastodon_account_id, mastodon_acct, display_name, avatar_url, "
    "visibility, birth_date, birth_input, birth_location, chart_data, updated_at FROM astro_profiles"
)


async def upsert_member(conn: AsyncConnection, account: MastodonAccount) -> uuid.UUID:
    """Create or refresh the member a Mastodon account belongs to; their id."""
    member_id: uuid.UUID = (
        await conn.execute(
            sa.text(
                "INSERT INTO astro_profiles (mastodon_instance, mastodon_account_id, mastodon_acct, "
                "display_name, avatar_url) VALUES (:i, :a, :acct, :d, :av) "
                "ON CONFLICT (mastodon_instance, mastodon_account_id) DO UPDATE SET "
                "mastodon_acct = EXCLUDED.mastodon_acct, display_name = EXCLUDED.display_name, "
                "avatar_url = EXCLUDED.avatar_url, updated_at = now() RETURNING id"
            ),
            {"i": account.instance, "a": account.id, "acct": account.acct, "d": account.display_name,
             "av": account.avatar},
        )
    ).scalar_one()  # fmt: skip
    return member_id


def account_deleted() -> ApiError:
    """401 for a token whose member's account is gone: signing in again starts a new one."""
    return unauthorized("This account was deleted; sign in again to start afresh.")


def _mastodon(row: Any) -> dict[str, Any]:
    return {
        "instance": row.mastodon_instance,
        "account_id": row.mastodon_account_id,
        "acct": row.mastodon_acct,
        "display_name": row.display_name,
        "avatar": row.avatar_url,
    }


async def own_profile(conn: AsyncConnection, member: uuid.UUID) -> dict[str, Any]:
    """Everything about the member, for the member."""
    row = (await conn.execute(sa.text(f"{_OWN} WHERE id = :id"), {"id": member})).first()
    if row is None:  # the account was deleted since the request's token was checked
        raise account_deleted()
    birth = None
    if row.birth_input is not None:
        birth = {**row.birth_input, "utc": row.birth_date.isoformat()}
    return {
        "id": str(row.id),
        "mastodon": _mastodon(row),
        "visibility": row.visibility,
        "birth": birth,
        "birth_location": row.birth_location,
        "chart": row.chart_data,
        "updated_at": row.updated_at.isoformat(),
    }


async def save_profile(
    conn: AsyncConnection,
    member: uuid.UUID,
    *,
    birth: Any,
    birth_input: dict[str, Any],
    location: dict[str, Any],
    chart: dict[str, Any],
    visibility: str,
) -> None:
    """Store birth data with the chart computed from it."""
    moon = next(b for b in chart["d1"]["bodies"] if b["body"] == "Moon")
    await conn.execute(
        sa.text(
            "UPDATE astro_profiles SET birth_date = :bd, birth_input = CAST(:bi AS jsonb), "
            "birth_location = CAST(:bl AS jsonb), chart_data = CAST(:cd AS jsonb), visibility = :v, "
            "moon_longitude = :ml, moon_uncertain = :mu, updated_at = now() WHERE id = :id"
        ),
        {
            "bd": birth,
            "bi": orjson.dumps(birth_input).decode(),
            "bl": orjson.dumps(location).decode(),
            "cd": orjson.dumps(chart).decode(),
            "v": visibility,
            "ml": moon["longitude"],
            "mu": moon["sign_uncertain"] or moon["nakshatra_uncertain"],
            "id": member,
        },
    )


async def clear_profile(conn: AsyncConnection, member: uuid.UUID) -> None:
    """Forget birth data and charts; the member stays linked and becomes private."""
    await conn.execute(
        sa.text(
            "UPDATE astro_profiles SET birth_date = NULL, birth_input = NULL, birth_location = NULL, "
            "chart_data = NULL, moon_longitude = NULL, moon_uncertain = NULL, visibility = 'private', "
            "updated_at = now() WHERE id = :id"
        ),
        {"id": member},
    )


async def exists(conn: AsyncConnection, member: uuid.UUID) -> bool:
    """Whether the member's account exists (it is gone once deleted)."""
    return bool(
        await conn.scalar(sa.text("SELECT EXISTS (SELECT 1 FROM astro_profiles WHERE id = :id)"), {"id": member})
    )


async def delete_member(conn: AsyncConnection, member: uuid.UUID) -> None:
    """Delete the member's row: Mastodon identity, birth data and charts alike."""
    await conn.execute(sa.text("DELETE FROM astro_profiles WHERE id = :id"), {"id": member})


def moon_facts(longitude: float, uncertain: bool) -> dict[str, Any]:
    """What others may know of a member's Moon: sign and nakshatra, no degrees."""
    return {
        "moon_sign": SIGNS[sign_index(longitude)],
        "moon_nakshatra": NAKSHATRAS[nakshatra_index(longitude)],
        "moon_uncertain": uncertain,
    }


def public_member(row: Any, moon_longitude: float, moon_uncertain: bool) -> dict[str, Any]:
    """A member as other members see them."""
    return {
        "id": str(row.id),
        "acct": row.mastodon_acct,
        "display_name": row.display_name,
        "avatar": row.avatar_url,
        **moon_facts(moon_longitude, moon_uncertain),
    }


async def visible_row(conn: AsyncConnection, member: str) -> Any:
    """A visible member with a chart (id, names, avatar, Moon, Sun sign), or 404 for anyone else."""
    try:
        member_id = uuid.UUID(member)
    except ValueError:
        raise not_found("member") from None
    row = (
        await conn.execute(
            sa.text(
                "SELECT id, mastodon_acct, display_name, avatar_url, moon_longitude, moon_uncertain, "
                "jsonb_path_query_first(chart_data, '$.d1.bodies[*] ? (@.body == \"Sun\").sign') #>> '{}' "
                "AS sun_sign FROM astro_profiles "
                "WHERE id = :id AND visibility = 'members' AND chart_data IS NOT NULL"
            ),
            {"id": member_id},
        )
    ).first()
    if row is None:
        raise not_found("member")
    return row


def summary(row: Any) -> dict[str, Any]:
    """A visible member's chart summary.

    Sun sign and Moon sign/nakshatra only: degrees, the ascendant or the slow planets' signs
    would together narrow down the birth date and time.
    """
    return {**public_member(row, row.moon_longitude, row.moon_uncertain), "sun_sign": row.sun_sign}


async def moon_of(conn: AsyncConnection, member: uuid.UUID) -> tuple[float, bool] | None:
    """The member's own Moon (longitude, uncertain), or None without a chart."""
    row = (
        await conn.execute(
            sa.text("SELECT moon_longitude, moon_uncertain FROM astro_profiles WHERE id = :id"), {"id": member}
        )
    ).first()
    if row is None or row.moon_longitude is None:
        return None
    return row.moon_longitude, row.moon_uncertain


async def visible_moons(conn: AsyncConnection, exclude: uuid.UUID, limit: int) -> list[Any]:
    """Visible members with a chart (not ``exclude``): id, acct, display name, avatar, Moon."""
    result = await conn.execute(
        sa.text(
            "SELECT id, mastodon_acct, display_name, avatar_url, moon_longitude, moon_uncertain "
            "FROM astro_profiles WHERE visibility = 'members' AND chart_data IS NOT NULL AND id <> :me "
            "ORDER BY updated_at DESC LIMIT :n"
        ),
        {"me": exclude, "n": limit},
    )
    return list(result.all())
