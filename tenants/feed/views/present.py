"""Lexicon views as SQL text expressions over joined rows, for hot pages.

A feed page is one statement: the skeleton's rows joined to posts, authors and the viewer's
state. Each post and profile carries its viewer-independent JSON prebuilt (``view_part``,
kept by triggers, migration 0003), so presenting an item is string concatenation plus the
viewer's fields; the rare parts (reply refs, reposts, quoted posts) are scalar subqueries that
run only for the items that have them. ``$1`` is always the viewer's DID or NULL. Objects
omit null fields, as ``json_strip_nulls`` would.
"""

from __future__ import annotations

VIEWER = "$1::text"
QUOTES = "('app.bsky.embed.record', 'app.bsky.embed.recordWithMedia')"


def actor_viewer(state: str) -> str:
    """``,"viewer":{...}`` (actor ``viewerState``) from a ``viewer_actor_state`` alias; '' without viewer."""
    return (
        f"""CASE WHEN {VIEWER} IS NULL THEN '' ELSE ',"viewer":{{' """
        f"""|| coalesce({state}.view_part, '"muted":false,"blockedBy":false') || '}}' END"""
    )


def profile_basic(profile: str, did: str, state: str) -> str:
    """``profileViewBasic`` text from a ``profiles`` alias (may be NULL), the DID and a viewer-actor alias."""
    return (
        f"'{{' || coalesce({profile}.view_part, feed_profile_part({did}, NULL, NULL, NULL)) "
        f"|| {actor_viewer(state)} || '}}'"
    )


def post_view(post: str, author: str, state: str, mine: str) -> str:
    """``postView`` text from aliases of the post, its author's profile, viewer-actor and viewer-post rows."""
    quote = (
        f"""CASE WHEN {post}.embed ->> '$type' IN {QUOTES} THEN ',"embed":' """
        f"|| jsonb_strip_nulls(feed_embed_view({post}.author_did, {post}.embed, {VIEWER}))::text ELSE '' END"
    )
    mine_view = f"'{{' || coalesce({mine}.view_part, '') || '}}'"
    return (
        f"""'{{"author":' || {profile_basic(author, f"{post}.author_did", state)} || ',' || {post}.view_part """
        f"""|| {quote} || ',"viewer":' || {mine_view} || '}}'"""
    )


def active(did: str) -> str:
    """Whether the account ``did`` is active: no takedown, suspension, deactivation or deletion.

    The subquery reads ``profiles_inactive_idx`` (migration 0014), which holds inactive accounts
    only: a probe of a few pages per row, or an anti-join against a hash of its rows.
    """
    return f"NOT EXISTS (SELECT 1 FROM profiles ia WHERE ia.did = {did} AND ia.account_status IS NOT NULL)"


def blocked(state: str) -> str:
    """Whether a viewer-actor row says either side blocks the other."""
    return f"({state}.blocking_uri IS NOT NULL OR {state}.blocked_by_uri IS NOT NULL)"


def _joins(post: str, prefix: str) -> str:
    """LEFT JOINs of a post alias's author profile and the viewer's rows about both."""
    return (
        f"LEFT JOIN profiles {prefix}a ON {prefix}a.did = {post}.author_did "
        f"LEFT JOIN viewer_actor_state {prefix}s ON {prefix}s.viewer_did = {VIEWER} "
        f"AND {prefix}s.subject_did = {post}.author_did "
        f"LEFT JOIN viewer_post_state {prefix}m ON {prefix}m.viewer_did = {VIEWER} AND {prefix}m.post_uri = {post}.uri "
    )


def post_ref(uri: str, alias: str) -> str:
    """A scalar subquery: the union member for a referenced post (postView, blockedPost or notFoundPost)."""
    post, state = alias, f"{alias}s"
    # An inactive author's post is not found (the profile row is joined already: no extra read).
    view = (
        f"CASE WHEN {post}.uri IS NULL OR {alias}a.account_status IS NOT NULL "
        f"THEN json_build_object('$type', 'app.bsky.feed.defs#notFoundPost', 'uri', x.uri, 'notFound', true)::text "
        f'WHEN {blocked(state)} THEN \'{{"$type":"app.bsky.feed.defs#blockedPost","uri":\' '
        f'|| to_json({post}.uri)::text || \',"blocked":true,"author":{{"did":\' '
        f"|| to_json({post}.author_did)::text "
        f"|| {actor_viewer(state)} || '}}}}' "
        f"ELSE {post_view(post, f'{alias}a', state, f'{alias}m')} END"
    )
    source = f"(SELECT {uri} AS uri) x LEFT JOIN posts {post} ON {post}.uri = x.uri {_joins(post, alias)}"
    return f"(SELECT {view} FROM {source})"


def _reason(repost_uri: str) -> str:
    """A scalar subquery: ``,"reason":{reasonRepost}`` of a repost."""
    by = profile_basic("ra", "r.author_did", "rs")
    return (
        f"""(SELECT ',"reason":{{"$type":"app.bsky.feed.defs#reasonRepost","by":' || {by} """
        f"""|| ',"uri":' || to_json(r.uri)::text || ',"cid":' || to_json(r.cid)::text """
        f"""|| ',"indexedAt":"' || feed_ts(r.indexed_at) || '"}}' FROM reposts r """
        f"LEFT JOIN profiles ra ON ra.did = r.author_did "
        f"LEFT JOIN viewer_actor_state rs ON rs.viewer_did = {VIEWER} AND rs.subject_did = r.author_did "
        f"WHERE r.uri = {repost_uri})"
    )


# feedViewPost text of skeleton row ``s`` (post_uri, repost_uri, by_did), with reply refs and repost reason.
FEED_ITEM = (
    f"""'{{"post":' || {post_view("p", "pa", "ps", "pm")} """
    f"""|| CASE WHEN p.reply_parent_uri IS NULL THEN '' ELSE ',"reply":{{"root":' """
    f"""|| {post_ref("p.reply_root_uri", "rt")} || ',"parent":' || {post_ref("p.reply_parent_uri", "pp")} """
    "|| '}' END "
    f"|| CASE WHEN s.repost_uri IS NULL THEN '' ELSE coalesce({_reason('s.repost_uri')}, '') END || '}}'"
)
FEED_JOINS = "JOIN posts p ON p.uri = s.post_uri " + _joins("p", "p")
# Hidden: posts by an account blocked either way, reposts by one, and (as Bluesky's AppView does)
# replies to one, at the parent or the root; the author DID is the uri's authority. Posts and
# reposts by inactive accounts too (replies to them stay, their parent shown as notFoundPost):
# the author's status is read from the profile row joined already, so a page of posts by active
# accounts costs nothing more; only reposts probe the reposter's (index of inactive accounts).
FEED_RULES = (
    f"NOT {blocked('ps')} AND pa.account_status IS NULL "
    f"AND (s.repost_uri IS NULL OR NOT EXISTS (SELECT 1 FROM viewer_actor_state b "
    f"WHERE b.viewer_did = {VIEWER} AND b.subject_did = s.by_did AND {blocked('b')}) AND {active('s.by_did')}) "
    f"AND (p.reply_parent_uri IS NULL OR NOT EXISTS (SELECT 1 FROM viewer_actor_state b "
    f"WHERE b.viewer_did = {VIEWER} AND b.subject_did IN (split_part(p.reply_parent_uri, '/', 3), "
    f"split_part(p.reply_root_uri, '/', 3)) AND {blocked('b')}))"
)
