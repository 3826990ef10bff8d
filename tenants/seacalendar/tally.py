"""A poll's live tally, built by PostgreSQL: one SQL text that the API and the bot both run.

The API runs it on SQLAlchemy connections, the bot on asyncpg ones; this module imports neither,
so the bot process never loads SQLAlchemy (~20 MB of private memory).
"""

from __future__ import annotations

# Votes per option as JSON, ``{poll}`` standing for the poll's id (a column or a parameter).
TALLY = """json_build_object(
    'poll_id', {poll},
    'voters', (SELECT count(*) FROM votes WHERE poll_id = {poll}),
    'options', COALESCE((SELECT json_agg(json_build_object(
        'option_id', o.id,
        'available', (SELECT count(*) FROM votes v WHERE v.poll_id = o.poll_id AND o.id = ANY(v.available_option_ids)),
        'maybe', (SELECT count(*) FROM votes v WHERE v.poll_id = o.poll_id AND o.id = ANY(v.maybe_option_ids))
    ) ORDER BY o.position, o.id) FROM poll_options o WHERE o.poll_id = {poll}), '[]'::json))"""


def tally_query(poll_id: str) -> str:
    """One poll's tally as JSON text, its id bound as ``poll_id``: ``:p`` (SQLAlchemy) or ``$1`` (asyncpg)."""
    return "SELECT " + TALLY.format(poll=f"CAST({poll_id} AS bigint)") + "::text"
