"""A poll's live tally, built by PostgreSQL: one SQL text that the API and the bot both run.

The API runs it on SQLAlchemy connections, the bot on asyncpg ones; this module imports neither,
so the bot process never loads SQLAlchemy (~20 MB of private memory).
"""

from __future__ import annotations

# Whether vote ``v`` counts, ``vp`` being its poll: its voter may still see the poll. Someone taken
# off a private poll's invitees keeps their vote row (inviting them again brings it back), but it
# no longer sways the tally or earns them the event's reminders.
COUNTED = """(NOT vp.is_private OR v.user_id = vp.creator_id OR EXISTS (
    SELECT 1 FROM invites i JOIN users vu ON vu.discord_id = i.discord_id
    WHERE i.poll_id = vp.id AND vu.id = v.user_id))"""
# The counted votes of poll ``{poll}`` (a column or a parameter), as ``FROM`` and ``WHERE`` text.
VOTES = "FROM votes v JOIN polls vp ON vp.id = v.poll_id WHERE v.poll_id = {poll} AND " + COUNTED

# Votes per option as JSON, ``{poll}`` standing for the poll's id (a column or a parameter);
# ``version`` orders two tallies of one poll: writes that change it bump it (store.bumped_tally).
TALLY = f"""json_build_object(
    'poll_id', {{poll}},
    'version', (SELECT tv.tally_version FROM polls tv WHERE tv.id = {{poll}}),
    'voters', (SELECT count(*) {VOTES}),
    'options', COALESCE((SELECT json_agg(json_build_object(
        'option_id', o.id,
        'available', (SELECT count(*) {VOTES} AND o.id = ANY(v.available_option_ids)),
        'maybe', (SELECT count(*) {VOTES} AND o.id = ANY(v.maybe_option_ids))
    ) ORDER BY o.position, o.id) FROM poll_options o WHERE o.poll_id = {{poll}}), '[]'::json))"""


def tally_query(poll_id: str) -> str:
    """One poll's tally as JSON text, its id bound as ``poll_id``: ``:p`` (SQLAlchemy) or ``$1`` (asyncpg)."""
    return "SELECT " + TALLY.format(poll=f"CAST({poll_id} AS bigint)") + "::text"
