"""NSID → method: the XRPC methods this service answers (others get MethodNotImplemented)."""

from __future__ import annotations

from tenants.feed.xrpc import (
    create_record,
    create_session,
    delete_record,
    delete_session,
    describe_server,
    get_author_feed,
    get_followers,
    get_follows,
    get_likes,
    get_post_thread,
    get_posts,
    get_profile,
    get_profiles,
    get_reposted_by,
    get_session,
    get_timeline,
    get_unread_count,
    list_notifications,
    refresh_session,
    search_actors,
    search_posts,
    update_seen,
)
from tenants.feed.xrpc.base import Method

METHODS: dict[str, Method] = {
    "app.bsky.feed.getTimeline": get_timeline.METHOD,
    "app.bsky.feed.getAuthorFeed": get_author_feed.METHOD,
    "app.bsky.feed.getPostThread": get_post_thread.METHOD,
    "app.bsky.feed.getPosts": get_posts.METHOD,
    "app.bsky.feed.getLikes": get_likes.METHOD,
    "app.bsky.feed.getRepostedBy": get_reposted_by.METHOD,
    "app.bsky.feed.searchPosts": search_posts.METHOD,
    "app.bsky.actor.getProfile": get_profile.METHOD,
    "app.bsky.actor.getProfiles": get_profiles.METHOD,
    "app.bsky.actor.searchActors": search_actors.METHOD,
    "app.bsky.graph.getFollows": get_follows.METHOD,
    "app.bsky.graph.getFollowers": get_followers.METHOD,
    "app.bsky.notification.listNotifications": list_notifications.METHOD,
    "app.bsky.notification.getUnreadCount": get_unread_count.METHOD,
    "app.bsky.notification.updateSeen": update_seen.METHOD,
    "com.atproto.server.describeServer": describe_server.METHOD,
    "com.atproto.server.createSession": create_session.METHOD,
    "com.atproto.server.refreshSession": refresh_session.METHOD,
    "com.atproto.server.getSession": get_session.METHOD,
    "com.atproto.server.deleteSession": delete_session.METHOD,
    "com.atproto.repo.createRecord": create_record.METHOD,
    "com.atproto.repo.deleteRecord": delete_record.METHOD,
}
