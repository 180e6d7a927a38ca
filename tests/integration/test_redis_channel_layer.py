"""The channel layer (Redis Pub/Sub) on a real Redis, configured by the production settings."""

import asyncio
import uuid

import pytest
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from chat.layers import PubSubChannelLayer
from chat.models import Message
from chat.routing import websocket_urlpatterns

from .conftest import redis_settings_for

pytestmark = pytest.mark.integration


def layer_config(service, **env):
    return redis_settings_for(service, **env)["CHANNEL_LAYERS"]["default"]["CONFIG"]


def new_layer(redis_server, prefix):
    return PubSubChannelLayer(**layer_config(redis_server), prefix=prefix)


@pytest.fixture
def prefix():
    """Channel names of this test's own: Redis's Pub/Sub channels are server-wide."""
    return f"test-{uuid.uuid4().hex[:8]}."


@pytest.fixture
async def layer(redis_server, prefix):
    layer = new_layer(redis_server, prefix)
    yield layer
    await layer.flush()


async def subscribed(layer, prefix, channels):
    """Wait until Redis has registered ``channels`` subscriptions of this test.

    Pub/Sub keeps nothing for a subscription Redis has not registered yet,
    and subscribing does not wait for its confirmation (a chat socket
    subscribes long before anyone speaks to it).
    """
    redis = layer.redis()
    async with asyncio.timeout(5):
        while len(await redis.pubsub_channels(f"{prefix}*")) < channels:
            await asyncio.sleep(0.01)


async def test_a_group_message_reaches_every_member_and_nobody_else(layer, prefix):
    ana, bob, outsider = [await layer.new_channel() for _ in range(3)]
    await layer.group_add("chat_room", ana)
    await layer.group_add("chat_room", bob)
    await subscribed(layer, prefix, 4)

    await layer.group_send("chat_room", {"type": "chat.message", "text": "hello room"})
    # Sent after the group message: if the outsider had been given that one,
    # it would be received first.
    await layer.send(outsider, {"type": "direct", "text": "only for you"})

    assert (await layer.receive(ana))["text"] == "hello room"
    assert (await layer.receive(bob))["text"] == "hello room"
    assert (await layer.receive(outsider))["text"] == "only for you"


async def test_a_member_that_left_the_group_gets_nothing_more(layer, prefix):
    ana, bob = [await layer.new_channel() for _ in range(2)]
    await layer.group_add("chat_room", ana)
    await layer.group_add("chat_room", bob)
    await layer.group_discard("chat_room", bob)
    await subscribed(layer, prefix, 3)

    await layer.group_send("chat_room", {"type": "chat.message", "text": "after bob left"})
    await layer.send(bob, {"type": "direct", "text": "marker"})

    assert (await layer.receive(ana))["text"] == "after bob left"
    assert (await layer.receive(bob))["text"] == "marker"


async def test_a_room_message_crosses_redis_once_per_process_and_reaches_every_member(redis_server, prefix):
    """The reason for Pub/Sub: Redis sends a room's message to each Daphne process once.

    Two layers stand for two Daphne processes with three members of the room
    each, a third for the process that sends (uWSGI, say).
    """
    processes = [new_layer(redis_server, prefix) for _ in range(3)]
    first, second, sender = processes
    try:
        members = {}
        for process in (first, second):
            for _ in range(3):
                channel = await process.new_channel()
                await process.group_add("big_room", channel)
                members[channel] = process
        await subscribed(sender, prefix, 7)
        group_channel = next(
            name for name in await sender.redis().pubsub_channels(f"{prefix}*") if b"big_room" in name
        )
        # one subscription to the room per process, not one per member
        assert await sender.redis().pubsub_numsub(group_channel) == [(group_channel, 2)]

        await sender.group_send("big_room", {"type": "chat.message", "text": "to all six"})

        for channel, process in members.items():
            async with asyncio.timeout(5):
                assert (await process.receive(channel))["text"] == "to all six"
        # and nobody got it twice
        for channel, process in members.items():
            await process.send(channel, {"type": "direct", "text": "marker"})
            async with asyncio.timeout(5):
                assert (await process.receive(channel))["text"] == "marker"
    finally:
        for process in processes:
            await process.flush()


async def test_a_quiet_channel_keeps_waiting_past_the_redis_timeouts(layer):
    """A chat room where nobody speaks for a while must not lose its consumers.

    The Pub/Sub connection waits for messages for as long as the room is
    quiet; a socket read timeout that turned silence into a TimeoutError
    would close every WebSocket of the room.
    """
    channel = await layer.new_channel()

    async def speak_later():
        await asyncio.sleep(11)
        await layer.send(channel, {"type": "chat.message", "text": "finally"})

    speaker = asyncio.create_task(speak_later())
    try:
        message = await layer.receive(channel)
    finally:
        await speaker

    assert message["text"] == "finally"


@pytest.mark.django_db(transaction=True)
async def test_two_chat_consumers_in_one_room_share_messages_through_redis(
    redis_server, make_course, make_user
):
    from channels.db import database_sync_to_async

    ana, bob = await database_sync_to_async(lambda: (make_user("ana"), make_user("bob")))()
    course = await database_sync_to_async(make_course)("Chat over Redis", students=[ana, bob])
    configured = redis_settings_for(redis_server)

    with override_settings(CHANNEL_LAYERS=configured["CHANNEL_LAYERS"]):
        clients = []
        for user in (ana, bob):
            client = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/chat/room/{course.pk}/")
            client.scope["user"] = user
            connected, _ = await client.connect()
            assert connected
            clients.append(client)
        try:
            await clients[0].send_json_to({"message": "hi bob"})

            for client in clients:
                received = await client.receive_json_from(timeout=5)
                assert received["user"] == "ana"
                assert received["message"] == "hi bob"
        finally:
            for client in clients:
                await client.disconnect()
            await get_channel_layer().flush()

    saved = await database_sync_to_async(lambda: list(Message.objects.values_list("content", flat=True)))()
    assert saved == ["hi bob"]
