"""Indexes for searches that are filters only: ``mentions:``, ``#tag``, ``lang:``, ``domain:`` and ``url``.

Without words, search walks posts newest first until 1,000 pass the filters (views/search.py):
quick for a common filter, but a rare one read every post (1.3-1.8 s at 1,000,000 posts, and
cancelled at 3 s on a bigger index). These GIN indexes let PostgreSQL read only the posts that
match. The mention and link indexes are partial, so the many posts without facets or embeds cost
neither index space nor work when the indexer stores them. The tags index is not: a partial one
makes search repeat its condition, which PostgreSQL then counts as a second, independent filter
and picks the index even for a tag on every tenth post, where walking back from the newest wins.

Revision ID: 0009_search_filters
Revises: 0008_indexer_idle
Create Date: 2026-12-02
"""

from alembic import op

revision = "0009_search_filters"
down_revision = "0008_indexer_idle"
branch_labels = None
depends_on = None

# The host of a link, lower case without "www." (what the domain filter compares).
LINK_HOST = r"""
CREATE FUNCTION feed_link_host(u text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN substring(lower(u) from '^[a-z][a-z0-9+.-]*://(?:[^/?#@]*@)?(?:www\.)?([^/:?#]+)')
"""
# Every domain a post links into: each link's host and the domains above it (a.example.com,
# example.com, com), so "domain:example.com" is one array containment. feed_link_host is named
# with its schema: a restore builds the index with an empty search_path.
LINK_HOSTS = """
CREATE FUNCTION feed_link_hosts(facets jsonb, embed jsonb) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT coalesce(array_agg(DISTINCT array_to_string(h.parts[i:], '.')), '{}')
FROM (SELECT string_to_array(public.feed_link_host(links.u), '.') AS parts
      FROM (SELECT jsonb_path_query(facets, '$[*].features[*] ? (@."$type" == "app.bsky.richtext.facet#link").uri')
                   #>> '{}'
            UNION ALL SELECT embed #>> '{external,uri}' UNION ALL SELECT embed #>> '{media,external,uri}')
           AS links (u)) AS h,
     generate_subscripts(h.parts, 1) AS i
$$
"""
# The languages a post is in, without region or script (pt-BR -> pt).
LANG_BASES = """
CREATE FUNCTION feed_lang_bases(langs text[]) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT coalesce(array_agg(DISTINCT lower(split_part(l, '-', 1))), '{}') FROM unnest(langs) AS l $$
"""
INDEXES = [
    "CREATE INDEX posts_facets_idx ON posts USING gin (facets jsonb_path_ops) WHERE facets IS NOT NULL",
    "CREATE INDEX posts_all_tags_idx ON posts USING gin (tags)",
    "CREATE INDEX posts_langs_idx ON posts USING gin (feed_lang_bases(langs))",
    "CREATE INDEX posts_link_hosts_idx ON posts USING gin (feed_link_hosts(facets, embed)) "
    "WHERE facets IS NOT NULL OR embed IS NOT NULL",
]


def upgrade() -> None:
    # As the driver's SQL: SQLAlchemy's text() would take the regex's ":www" for a parameter.
    for statement in (LINK_HOST, LINK_HOSTS, LANG_BASES, *INDEXES):
        op.get_bind().exec_driver_sql(statement)


def downgrade() -> None:
    for index in ("posts_link_hosts_idx", "posts_langs_idx", "posts_all_tags_idx", "posts_facets_idx"):
        op.execute(f"DROP INDEX {index}")
    op.execute("DROP FUNCTION feed_lang_bases(text[])")
    op.execute("DROP FUNCTION feed_link_hosts(jsonb, jsonb)")
    op.execute("DROP FUNCTION feed_link_host(text)")
