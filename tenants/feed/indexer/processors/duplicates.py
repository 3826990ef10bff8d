"""Further records of a pair: one row per (author, subject) in a table, the others wait aside.

``likes``, ``reposts``, ``follows`` and ``blocks`` are unique on (author, subject), as in Bluesky's
AppView (migration 0006). A record that arrives for a pair already stored is neither a replay of
that row nor counted: it waits in ``record_duplicates``. When the pair's row is deleted, the
earliest waiting record takes its place, and the processor gives it the effects of an insert, so
the result is the same whichever of the pair's records arrive in one batch.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pairs:
    """How a table names its subject: ``subject_uri`` (with ``subject_cid``) or ``subject_did``."""

    table: str
    subject: str

    def set_aside(self) -> str:
        """$1: the JSON rows just offered to the table; those neither inserted nor a replay wait aside."""
        cid = "x.subject_cid" if self.subject == "subject_uri" else "NULL"
        cid_type = ", subject_cid text" if self.subject == "subject_uri" else ""
        return f"""
        INSERT INTO record_duplicates (uri, collection, cid, author_did, subject, subject_cid, created_at)
        SELECT x.uri, '{self.table}', x.cid, x.author_did, x.{self.subject}, {cid}, x.created_at
        FROM jsonb_to_recordset($1::jsonb) AS x(uri text, cid text, author_did text, {self.subject} text{cid_type},
                                                created_at timestamptz)
        WHERE NOT EXISTS (SELECT 1 FROM {self.table} t WHERE t.uri = x.uri)
        ON CONFLICT (uri) DO NOTHING
        """

    def promote(self) -> str:
        """$1 authors, $2 subjects of deleted rows: each pair's earliest waiting record becomes its row.

        Returns the new rows as an insert does (``uri, author_did, <subject>, created_at``).
        """
        cid = ", subject_cid" if self.subject == "subject_uri" else ""
        return f"""
        WITH pick AS (
            SELECT DISTINCT ON (d.author_did, d.subject) d.uri
            FROM record_duplicates d JOIN unnest($1::text[], $2::text[]) AS g(author, subject)
                 ON d.author_did = g.author AND d.subject = g.subject
            WHERE d.collection = '{self.table}'
            ORDER BY d.author_did, d.subject, d.created_at, d.uri
        ), moved AS (
            DELETE FROM record_duplicates d USING pick WHERE d.uri = pick.uri RETURNING d.*
        )
        INSERT INTO {self.table} (uri, cid, author_did, {self.subject}{cid}, created_at, indexed_at)
        SELECT uri, cid, author_did, subject{cid}, created_at, indexed_at FROM moved
        ON CONFLICT DO NOTHING
        RETURNING uri, author_did, {self.subject}, created_at
        """

    def waiting(self) -> str:
        """$1 author, $2 subject: the pair's waiting records."""
        return (
            f"SELECT uri FROM record_duplicates WHERE collection = '{self.table}' "
            "AND author_did = $1 AND subject = $2 ORDER BY created_at, uri"
        )


FORGET = "DELETE FROM record_duplicates WHERE uri = ANY($1::text[])"
