"""The real ``atproto`` SDK pointed at ``/feed/xrpc``: sign-in, reads and writes parse as lexicon models."""

from __future__ import annotations

import asyncpg
import pytest
from atproto import AsyncClient, models
from atproto.exceptions import BadRequestError

from tests.fakes.firehose import LIKE, POST, PROFILE, REPOST, Firehose, uri
from tests.tenants.feed.api.fixtures import FeedServer, index, name_accounts

ALICE, BOB, CAROL = "did:plc:alice", "did:plc:bob", "did:plc:carol"


async def seed(db: asyncpg.Connection, hose: Firehose) -> dict[str, str]:
    """Bob posts (one with an image, one reply thread); Carol reposts and likes; Alice follows Bob."""
    first = hose.post(BOB, "first #cannabis post")
    first_uri = uri(BOB, POST, first["commit"]["rkey"])
    image = hose.commit(BOB, POST, hose.rkey(), {
        "text": "a picture", "createdAt": hose.created(),
        "embed": {"$type": "app.bsky.embed.images", "images": [{"alt": "leaf", "image": {
            "$type": "blob", "ref": {"$link": "bafkreiimage"}, "mimeType": "image/jpeg", "size": 100}}]},
    })  # fmt: skip
    reply = hose.post(CAROL, "nice", reply_to=(first_uri, first_uri))
    reply_uri = uri(CAROL, POST, reply["commit"]["rkey"])
    events = [
        first,
        image,
        reply,
        hose.post(BOB, "thanks", reply_to=(reply_uri, first_uri)),
        hose.like(CAROL, first_uri),
        hose.like(CAROL, first_uri, collection=REPOST),
        hose.follow(ALICE, BOB),
        hose.follow(CAROL, ALICE),
        hose.like(CAROL, uri(ALICE, POST, "3kalicepost1")),
    ]
    await index(db, [hose.post(ALICE, "alice here", rkey="3kalicepost1"), *events])
    await index(db, [hose.profile(BOB, "Bob B.")])  # a stored account's profile record updates its row
    await name_accounts(db, {BOB: "bob.test", CAROL: "carol.test"})
    return {"first": first_uri, "reply": reply_uri}


async def alice_client(feed_server: FeedServer) -> AsyncClient:
    """The SDK pointed at the feed tenant, signed in as Alice."""
    feed_server.pds.account(ALICE, "alice.test", "app-pass")
    client = AsyncClient(base_url=f"{feed_server.url}/feed/xrpc")
    await client.login("alice.test", "app-pass")
    return client


async def test_sdk_reads_timeline_profile_thread_and_notifications(
    feed_server: FeedServer, feed_db: asyncpg.Connection, hose: Firehose
) -> None:
    feed_server.pds.account(ALICE, "alice.test", "app-pass")
    client = AsyncClient(base_url=f"{feed_server.url}/feed/xrpc")
    profile = await client.login("alice.test", "app-pass")
    assert profile is not None and profile.did == ALICE and profile.handle == "alice.test"
    assert client.me is not None
    uris = await seed(feed_db, hose)

    timeline = await client.get_timeline(limit=10)
    texts = [item.post.record.text for item in timeline.feed]
    assert "first #cannabis post" in texts and "alice here" in texts
    reposted = [item for item in timeline.feed if item.reason is not None]
    assert reposted == []  # Carol is not followed; her repost is not in Alice's timeline
    threaded = [item for item in timeline.feed if item.reply is not None]
    assert threaded and threaded[0].reply.root.uri == uris["first"]
    images = [item.post.embed for item in timeline.feed if item.post.embed is not None]
    assert isinstance(images[0], models.AppBskyEmbedImages.View) and images[0].images[0].alt == "leaf"

    bob = await client.get_profile("bob.test")
    assert isinstance(bob, models.AppBskyActorDefs.ProfileViewDetailed)
    assert bob.display_name == "Bob B." and bob.viewer.following is not None and bob.posts_count == 3

    thread = await client.get_post_thread(uris["first"])
    assert isinstance(thread.thread, models.AppBskyFeedDefs.ThreadViewPost)
    assert thread.thread.post.like_count == 1 and thread.thread.post.repost_count == 1
    (reply,) = thread.thread.replies
    assert reply.post.uri == uris["reply"] and reply.replies[0].post.record.text == "thanks"
    child = await client.get_post_thread(uris["reply"])
    assert child.thread.parent.post.uri == uris["first"]
    # An at-uri may name the repository by handle: resolved to the DID, as the AppView does.
    by_handle = await client.get_post_thread(uris["first"].replace(BOB, "bob.test"))
    assert by_handle.thread.post.uri == uris["first"]

    notes = await client.app.bsky.notification.list_notifications()
    reasons = sorted(n.reason for n in notes.notifications)
    assert reasons == ["follow", "like"]
    assert all(isinstance(n.author, models.AppBskyActorDefs.ProfileView) for n in notes.notifications)
    assert notes.priority is False
    unread = await client.app.bsky.notification.get_unread_count()
    assert unread.count == 2
    # Priority: only from accounts Alice follows (Bob, not Carol), in the list and the count.
    assert (await client.app.bsky.notification.list_notifications({"priority": True})).notifications == []
    await index(feed_db, [hose.like(BOB, uri(ALICE, POST, "3kalicepost1"))])
    first = await client.app.bsky.notification.list_notifications({"priority": True})
    assert [(n.author.did, n.reason) for n in first.notifications] == [(BOB, "like")] and first.priority is True
    assert (await client.app.bsky.notification.get_unread_count({"priority": True})).count == 1
    assert (await client.app.bsky.notification.get_unread_count()).count == 3
    await client.app.bsky.notification.update_seen({"seen_at": client.get_current_time_iso()})
    assert (await client.app.bsky.notification.get_unread_count()).count == 0


async def test_sdk_other_reads_and_session(
    feed_server: FeedServer, feed_db: asyncpg.Connection, hose: Firehose
) -> None:
    client = await alice_client(feed_server)
    uris = await seed(feed_db, hose)

    author = await client.get_author_feed("bob.test", filter="posts_no_replies")
    assert [i.post.record.text for i in author.feed] == ["a picture", "first #cannabis post"]
    media = await client.get_author_feed("bob.test", filter="posts_with_media")
    assert len(media.feed) == 1
    posts = await client.get_posts([uris["first"], uris["reply"]])
    assert [p.uri for p in posts.posts] == [uris["first"], uris["reply"]]
    likes = await client.get_likes(uris["first"])
    assert [like.actor.did for like in likes.likes] == [CAROL] and likes.cid is None
    reposts = await client.get_reposted_by(uris["first"])
    assert [r.did for r in reposts.reposted_by] == [CAROL]
    # The lexicon's cid parameter is echoed in the output, as the AppView does.
    cid = posts.posts[0].cid
    assert (await client.get_likes(uris["first"], cid=cid)).cid == cid
    assert (await client.get_reposted_by(uris["first"], cid=cid)).cid == cid
    # An at-uri may name its repository by handle: resolved among stored accounts, as the AppView does;
    # a handle no stored account has is one more unknown post.
    by_handle = uris["first"].replace(BOB, "bob.test")
    unknown = uris["first"].replace(BOB, "nobody.test")
    found_posts = await client.get_posts([unknown, by_handle, uris["reply"]])
    assert [p.uri for p in found_posts.posts] == [uris["first"], uris["reply"]]
    liked = await client.get_likes(by_handle)
    assert [like.actor.did for like in liked.likes] == [CAROL] and liked.uri == by_handle
    assert [r.did for r in (await client.get_reposted_by(by_handle)).reposted_by] == [CAROL]
    assert (await client.get_likes(unknown)).likes == [] and (await client.get_reposted_by(unknown)).reposted_by == []
    follows = await client.get_follows("alice.test")
    assert [f.did for f in follows.follows] == [BOB] and follows.subject.did == ALICE
    followers = await client.get_followers(ALICE)
    assert [f.did for f in followers.followers] == [CAROL]
    found = await client.app.bsky.feed.search_posts({"q": "cannabis"})
    assert [p.uri for p in found.posts] == [uris["first"]]
    actors = await client.app.bsky.actor.search_actors({"q": "bob"})
    assert [a.did for a in actors.actors] == [BOB]
    many = await client.app.bsky.actor.get_profiles({"actors": [BOB, "carol.test", "nobody.test"]})
    assert [p.did for p in many.profiles] == [BOB, CAROL]
    described = await client.com.atproto.server.describe_server()
    assert described.did.startswith("did:web:")
    session = await client.com.atproto.server.get_session()
    assert session.did == ALICE and session.did_doc is None

    refreshed = await client._refresh_and_set_session()
    assert refreshed.did == ALICE and refreshed.did_doc is None
    assert (await client.get_timeline()).feed


async def test_sdk_writes_go_to_the_pds_and_show_at_once(
    feed_server: FeedServer, feed_db: asyncpg.Connection, hose: Firehose
) -> None:
    client = await alice_client(feed_server)
    uris = await seed(feed_db, hose)
    post = await client.send_post("written through the SDK")
    assert feed_server.pds.writes[-1][0] == "com.atproto.repo.createRecord"
    like = await client.like(uris["first"], "bafyany")
    (view,) = (await client.get_posts([uris["first"]])).posts
    assert view.like_count == 2 and view.viewer.like == like.uri
    timeline = await client.get_timeline()
    assert timeline.feed[0].post.uri == post.uri
    assert await client.delete_like(like.uri)
    (view,) = (await client.get_posts([uris["first"]])).posts
    assert view.like_count == 1 and view.viewer.like is None
    assert await client.delete_post(post.uri)
    assert (await client.get_posts([post.uri])).posts == []
    assert {nsid for nsid, _, _ in feed_server.pds.writes} == {
        "com.atproto.repo.createRecord",
        "com.atproto.repo.deleteRecord",
    }
    assert LIKE in {body["collection"] for _, _, body in feed_server.pds.writes}


async def test_sdk_swaps_and_validate_go_to_the_pds_and_a_failed_swap_is_invalid_swap(
    feed_server: FeedServer, feed_db: asyncpg.Connection
) -> None:
    client = await alice_client(feed_server)
    repo = client.com.atproto.repo

    def post(text: str) -> models.AppBskyFeedPost.Record:
        return models.AppBskyFeedPost.Record(text=text, created_at=client.get_current_time_iso())

    first = await repo.create_record(
        models.ComAtprotoRepoCreateRecord.Data(repo=ALICE, collection=POST, record=post("one"))
    )
    assert first.commit is not None and first.validation_status == "valid"  # the PDS's answer, passed on
    # Written after exactly that commit, unvalidated: both conditions reach the PDS as given.
    second = await repo.create_record(
        models.ComAtprotoRepoCreateRecord.Data(
            repo=ALICE, collection=POST, record=post("two"), swap_commit=first.commit.cid, validate_=False
        )
    )
    assert second.validation_status == "unknown"
    assert {k: feed_server.pds.writes[-1][2].get(k) for k in ("swapCommit", "validate")} == {
        "swapCommit": first.commit.cid,
        "validate": False,
    }
    # The repository has moved on since the first commit: the PDS refuses, under its own name.
    with pytest.raises(BadRequestError) as refused:
        await repo.create_record(
            models.ComAtprotoRepoCreateRecord.Data(
                repo=ALICE, collection=POST, record=post("three"), swap_commit=first.commit.cid
            )
        )
    assert refused.value.response is not None and refused.value.response.content.error == "InvalidSwap"
    assert await feed_db.fetchval("SELECT count(*) FROM posts WHERE author_did = $1", ALICE) == 2  # nothing indexed

    rkey = second.uri.rsplit("/", 1)[-1]
    with pytest.raises(BadRequestError) as stale:
        await repo.delete_record(
            models.ComAtprotoRepoDeleteRecord.Data(repo=ALICE, collection=POST, rkey=rkey, swap_record=first.cid)
        )
    assert stale.value.response is not None and stale.value.response.content.error == "InvalidSwap"
    assert (await client.get_posts([second.uri])).posts  # still there
    deleted = await repo.delete_record(
        models.ComAtprotoRepoDeleteRecord.Data(repo=ALICE, collection=POST, rkey=rkey, swap_record=second.cid)
    )
    assert deleted.commit is not None and deleted.commit.rev
    assert (await client.get_posts([second.uri])).posts == []


async def test_sdk_the_viewers_own_pinned_post_says_so_wherever_it_shows(
    feed_server: FeedServer, feed_db: asyncpg.Connection, hose: Firehose
) -> None:
    """``postView.viewer.pinned`` on the viewer's own pinned post (Bluesky's ``viewerPinned``), and only there."""
    client = await alice_client(feed_server)
    uris = await seed(feed_db, hose)
    mine = uri(ALICE, POST, "3kalicepost1")
    (post,) = (await client.get_posts([mine])).posts
    assert post.viewer is not None and post.viewer.pinned is None
    pin = {"uri": mine, "cid": post.cid}
    await index(feed_db, [hose.commit(ALICE, PROFILE, "self", {"displayName": "Alice", "pinnedPost": pin})])
    # Bob pins his own post too: he is not a viewer here, so nothing is kept for him.
    bob_pin = {"uri": uris["first"], "cid": "bafybob"}
    await index(feed_db, [hose.commit(BOB, PROFILE, "self", {"displayName": "Bob", "pinnedPost": bob_pin})])
    assert await feed_db.fetchval("SELECT count(*) FROM viewer_post_state WHERE pinned") == 1

    def pinned_in(feed: list[models.AppBskyFeedDefs.FeedViewPost]) -> list[str]:
        return [item.post.uri for item in feed if item.post.viewer is not None and item.post.viewer.pinned]

    assert pinned_in((await client.get_timeline()).feed) == [mine]  # the hot path's prebuilt state
    assert pinned_in((await client.get_author_feed("did:plc:alice")).feed) == [mine]
    assert [p.viewer.pinned for p in (await client.get_posts([mine, uris["first"]])).posts] == [True, None]
    thread = await client.get_post_thread(mine)
    assert thread.thread.post.viewer.pinned is True

    # Liked and unliked meanwhile, the pinned post keeps saying so; unpinned, it no longer does.
    like = hose.like(ALICE, mine)
    await index(feed_db, [like])
    liked = (await client.get_posts([mine])).posts[0].viewer
    assert liked.like is not None and liked.pinned is True
    await index(feed_db, [hose.delete(ALICE, LIKE, like["commit"]["rkey"])])
    assert (await client.get_posts([mine])).posts[0].viewer.model_dump(exclude_none=True) == {
        "pinned": True, "py_type": "app.bsky.feed.defs#viewerState"
    }  # fmt: skip
    await index(feed_db, [hose.commit(ALICE, PROFILE, "self", {"displayName": "Alice"})])
    assert pinned_in((await client.get_timeline()).feed) == []
    assert await feed_db.fetchval("SELECT count(*) FROM viewer_post_state WHERE viewer_did = $1", ALICE) == 0

    # An account whose profile (with its pin) was stored before it signed in sees the pin at once.
    carol_post = hose.post(CAROL, "carol pins this")
    carol_uri = uri(CAROL, POST, carol_post["commit"]["rkey"])
    await index(feed_db, [carol_post])
    carol_pin = {"uri": carol_uri, "cid": carol_post["commit"]["cid"]}
    await index(feed_db, [hose.commit(CAROL, PROFILE, "self", {"pinnedPost": carol_pin})])
    feed_server.pds.account(CAROL, "carol.test", "carol-pass")
    carol = AsyncClient(base_url=f"{feed_server.url}/feed/xrpc")
    await carol.login("carol.test", "carol-pass")
    assert (await carol.get_posts([carol_uri])).posts[0].viewer.pinned is True


async def test_sdk_author_feed_with_the_pinned_post_on_top(
    feed_server: FeedServer, feed_db: asyncpg.Connection, hose: Firehose
) -> None:
    """``includePins``: the author's pinned post leads the first page (``reasonPin``), shown once."""
    client = await alice_client(feed_server)
    uris = await seed(feed_db, hose)
    first = (await client.get_posts([uris["first"]])).posts[0]
    pin = {"uri": first.uri, "cid": first.cid}
    await index(feed_db, [hose.commit(BOB, PROFILE, "self", {"displayName": "Bob", "pinnedPost": pin})])

    assert (await client.get_profile("bob.test")).pinned_post.uri == first.uri
    pinned = await client.get_author_feed("bob.test", include_pins=True)
    assert pinned.feed[0].post.uri == first.uri and pinned.feed[0].reason.py_type == "app.bsky.feed.defs#reasonPin"
    assert [i.post.uri for i in pinned.feed].count(first.uri) == 1
    plain = await client.get_author_feed("bob.test")
    assert plain.feed[0].post.uri != first.uri and all(i.reason is None for i in plain.feed)
    assert len(pinned.feed) == len(plain.feed)
    # Only the first page: the next one starts where the plain page ends, and has no pin.
    head = await client.get_author_feed("bob.test", include_pins=True, limit=1)
    assert head.feed[0].post.uri == first.uri and len(head.feed) == 2
    after = await client.get_author_feed("bob.test", include_pins=True, limit=1, cursor=head.cursor)
    assert after.feed[0].reason is None

    # A pin of someone else's post shows in the profile (as the AppView's) but never in the feed.
    await index(feed_db, [hose.commit(BOB, PROFILE, "self", {"pinnedPost": {"uri": uris["reply"], "cid": "bafyx"}})])
    assert (await client.get_profile("bob.test")).pinned_post.uri == uris["reply"]
    assert all(i.reason is None for i in (await client.get_author_feed("bob.test", include_pins=True)).feed)
    await index(feed_db, [hose.commit(BOB, PROFILE, "self", {"pinnedPost": "not a strong ref"})])
    assert (await client.get_profile("bob.test")).pinned_post is None
