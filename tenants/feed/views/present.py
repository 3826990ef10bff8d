"""Lexicon views as SQL expressions over joined rows, for hot pages.

A feed page is one statement: the skeleton's rows joined to posts, authors, the viewer's state
and reply parents, with the JSON built inline. (Calling per-row view functions instead costs a
function call per field group and item; here the planner sees one flat query.) ``$1`` is always
the viewer's DID or NULL.
"""

from __future__ import annotations

VIEWER = "$1::text"


def actor_viewer(state: str) -> str:
    """``app.bsky.actor.defs#viewerState`` from a ``viewer_actor_state`` row alias (NULL without viewer)."""
    return (
        f"CASE WHEN {VIEWER} IS NULL THEN NULL ELSE json_build_object('muted', false, "
        f"'blockedBy', {state}.blocked_by_uri IS NOT NULL, 'blocking', {state}.blocking_uri, "
        f"'following', {state}.follow_uri, 'followedBy', {state}.followed_by_uri) END"
    )


def profile_basic(profile: str, did: str, state: str) -> str:
    """``profileViewBasic`` from a ``profiles`` row alias (may be NULL) and the account's DID expression."""
    return (
        f"json_build_object('did', {did}, 'handle', coalesce({profile}.handle, 'handle.invalid'), "
        f"'displayName', {profile}.display_name, 'avatar', feed_cdn('avatar', {did}, {profile}.avatar_cid), "
        f"'labels', '[]'::json, 'viewer', {actor_viewer(state)})"
    )


def post_view(post: str, author: str, state: str, mine: str) -> str:
    """``postView`` from aliases of the post, its author's profile, viewer-actor and viewer-post rows."""
    return (
        f"json_build_object('$type', 'app.bsky.feed.defs#postView', 'uri', {post}.uri, 'cid', {post}.cid, "
        f"'author', {profile_basic(author, f'{post}.author_did', state)}, 'record', {post}.record, "
        f"'embed', CASE WHEN {post}.embed IS NOT NULL "
        f"THEN feed_embed_view({post}.author_did, {post}.embed, {VIEWER}) END, "
        f"'replyCount', {post}.reply_count, 'repostCount', {post}.repost_count, 'likeCount', {post}.like_count, "
        f"'quoteCount', {post}.quote_count, 'indexedAt', feed_ts({post}.indexed_at), "
        f"'labels', CASE WHEN {post}.labels IS NULL THEN '[]'::jsonb ELSE feed_self_labels({post}) END, "
        f"'viewer', json_build_object('like', {mine}.like_uri, 'repost', {mine}.repost_uri))"
    )


def blocked(state: str) -> str:
    """Whether a viewer-actor row says either side blocks the other."""
    return f"({state}.blocking_uri IS NOT NULL OR {state}.blocked_by_uri IS NOT NULL)"


def post_ref(uri: str, post: str, author: str, state: str, mine: str) -> str:
    """A union member for a referenced post: postView, blockedPost or notFoundPost."""
    return (
        f"CASE WHEN {post}.uri IS NULL THEN json_build_object('$type', 'app.bsky.feed.defs#notFoundPost', "
        f"'uri', {uri}, 'notFound', true) "
        f"WHEN {blocked(state)} THEN json_build_object('$type', 'app.bsky.feed.defs#blockedPost', 'uri', {post}.uri, "
        f"'blocked', true, 'author', json_build_object('did', {post}.author_did, 'viewer', {actor_viewer(state)})) "
        f"ELSE {post_view(post, author, state, mine)} END"
    )


def joins(post: str, prefix: str) -> str:
    """LEFT JOINs of a post alias's author profile and the viewer's rows about both."""
    return (
        f"LEFT JOIN profiles {prefix}a ON {prefix}a.did = {post}.author_did "
        f"LEFT JOIN viewer_actor_state {prefix}s ON {prefix}s.viewer_did = {VIEWER} "
        f"AND {prefix}s.subject_did = {post}.author_did "
        f"LEFT JOIN viewer_post_state {prefix}m ON {prefix}m.viewer_did = {VIEWER} AND {prefix}m.post_uri = {post}.uri "
    )


# feedViewPost of skeleton row ``s`` (post_uri, repost_uri, by_did), with reply refs and repost reason.
FEED_ITEM = (
    "json_strip_nulls(json_build_object("
    f"'post', {post_view('p', 'pa', 'ps', 'pm')}, "
    "'reply', CASE WHEN p.reply_parent_uri IS NOT NULL THEN json_build_object("
    f"'root', {post_ref('p.reply_root_uri', 'rt', 'rta', 'rts', 'rtm')}, "
    f"'parent', {post_ref('p.reply_parent_uri', 'pp', 'ppa', 'pps', 'ppm')}) END, "
    "'reason', CASE WHEN r.uri IS NOT NULL THEN json_build_object('$type', 'app.bsky.feed.defs#reasonRepost', "
    f"'by', {profile_basic('ra', 'r.author_did', 'rs')}, 'uri', r.uri, 'cid', r.cid, "
    "'indexedAt', feed_ts(r.indexed_at)) END))"
)
FEED_JOINS = (
    "JOIN posts p ON p.uri = s.post_uri "
    + joins("p", "p")
    + "LEFT JOIN posts pp ON pp.uri = p.reply_parent_uri "
    + joins("pp", "pp")
    + "LEFT JOIN posts rt ON rt.uri = p.reply_root_uri "
    + joins("rt", "rt")
    + "LEFT JOIN reposts r ON r.uri = s.repost_uri "
    + "LEFT JOIN profiles ra ON ra.did = r.author_did "
    + f"LEFT JOIN viewer_actor_state rs ON rs.viewer_did = {VIEWER} AND rs.subject_did = r.author_did "
)
FEED_RULES = f"NOT {blocked('ps')} AND (r.uri IS NULL OR NOT {blocked('rs')})"
