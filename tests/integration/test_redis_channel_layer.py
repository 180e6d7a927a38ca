"""The channel layer on a real Redis, configured by the production settings."""

import asyncio

import pytest
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from channels_redis.core import RedisChannelLayer
from django.test import override_settings

from chat.models import Message
from chat.routing import websocket_urlpatterns

from .conftest import redis_settings_for

pytestmark = pytest.mark.integration


def layer_config(service, **env):
    return redis_settings_for(service, **env)["CHANNEL_LAYERS"]["default"]["CONFIG"]


@pytest.fixture
async def layer(redis_server):
    layer = RedisChannelLayer(**layer_config(redis_server))
    yield layer
    await layer.flush()


async def test_a_group_message_reaches_every_member_and_nobody_else(layer):
    ana, bob, outsider = [await layer.new_channel() for _ in range(3)]
    await layer.group_add("chat_room", ana)
    await layer.group_add("chat_room", bob)

    await layer.group_send("chat_room", {"type": "chat.message", "text": "hello room"})
    # Sent after the group message: if the outsider had been given that one,
    # it would be received first.
    await layer.send(outsider, {"type": "direct", "text": "only for you"})

    assert (await layer.receive(ana))["text"] == "hello room"
    assert (await layer.receive(bob))["text"] == "hello room"
    assert (await layer.receive(outsider))["text"] == "only for you"


async def test_a_member_that_left_the_group_gets_nothing_more(layer):
    ana, bob = [await layer.new_channel() for _ in range(2)]
    await layer.group_add("chat_room", ana)
    await layer.group_add("chat_room", bob)
    await layer.group_discard("chat_room", bob)

    await layer.group_send("chat_room", {"type": "chat.message", "text": "after bob left"})
    await layer.send(bob, {"type": "direct", "text": "marker"})

    assert (await layer.receive(ana))["text"] == "after bob left"
    assert (await layer.receive(bob))["text"] == "marker"


async def test_a_full_channel_refuses_direct_messages_and_drops_group_messages(redis_server):
    layer = RedisChannelLayer(**layer_config(redis_server, CHANNEL_LAYER_CAPACITY="3"))
    try:
        assert layer.capacity == 3
        # Named channels: the ones from new_channel() of one process share a
        # single Redis list, and with it the capacity.
        slow, lively = "chat.slow-reader", "chat.lively-reader"
        await layer.group_add("chat_room", slow)
        await layer.group_add("chat_room", lively)
        for number in range(3):
            await layer.send(slow, {"type": "direct", "number": number})

        with pytest.raises(ChannelFull):
            await layer.send(slow, {"type": "direct", "number": 3})
        # A group send must not fail for everybody because one member is slow.
        await layer.group_send("chat_room", {"type": "chat.message", "text": "still delivered"})

        assert (await layer.receive(lively))["text"] == "still delivered"
        received = [(await layer.receive(slow))["number"] for _ in range(3)]
        assert received == [0, 1, 2]
        # Room again once the slow reader caught up.
        await layer.send(slow, {"type": "direct", "number": 4})
        assert (await layer.receive(slow))["number"] == 4
    finally:
        await layer.flush()


async def test_a_quiet_channel_keeps_waiting_past_the_redis_timeouts(layer):
    """A chat room where nobody speaks for a while must not lose its consumers.

    channels_redis waits with BRPOP, which blocks inside Redis for several
    seconds; a socket read timeout shorter than that turns silence into a
    TimeoutError that closes every WebSocket of the room.
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
