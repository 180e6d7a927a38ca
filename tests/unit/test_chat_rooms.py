"""A room's broadcasts handed to its members in this process by one channel of the room (chat.rooms)."""

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import DatabaseError

from chat.consumers import ChatConsumer, group_name
from chat.rooms import Rooms, rooms_for
from chat.sockets import LocalSockets
from tests.support.consumers import communicator_for, joined

pytestmark = pytest.mark.unit


class Member:
    """A socket as the room sees it: what it was handed, or an error for each frame."""

    def __init__(self, broken=False, channel_name=None):
        self.texts = []
        self.broken = broken
        self.channel_name = channel_name

    async def deliver(self, text):
        if self.broken:
            raise ConnectionError("this socket is gone")
        self.texts.append(text)


async def until(condition, timeout=2):
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


async def test_every_member_gets_each_message_once_in_the_order_sent():
    layer, members = InMemoryChannelLayer(), [Member() for _ in range(3)]
    rooms = Rooms(layer)
    for member in members:
        await rooms.join("chat_1", member)

    for number in (1, 2):
        await layer.group_send("chat_1", {"type": "chat.message", "id": number, "message": f"m{number}"})
    await until(lambda: all(len(member.texts) == 2 for member in members))

    for member in members:
        assert [json.loads(text)["id"] for text in member.texts] == [1, 2]
    # one channel of the room in the group, whatever its number of members
    assert len(layer.groups["chat_1"]) == 1


async def test_a_frame_has_the_protocols_keys_and_null_for_a_key_an_older_version_left_out():
    layer, member = InMemoryChannelLayer(), Member()
    await Rooms(layer).join("chat_1", member)

    await layer.group_send(
        "chat_1", {"type": "chat.message", "id": 7, "user": "ana", "message": "hi", "datetime": "2026"}
    )
    await until(lambda: member.texts)

    assert json.loads(member.texts[0]) == {
        "id": 7, "user": "ana", "message": "hi", "datetime": "2026", "key": None,
    }  # fmt: skip


async def test_a_socket_that_fails_costs_the_others_nothing():
    layer = InMemoryChannelLayer()
    rooms = Rooms(layer)
    first, broken, last = Member(), Member(broken=True), Member()
    for member in (first, broken, last):
        await rooms.join("chat_1", member)

    await layer.group_send("chat_1", {"type": "chat.message", "id": 1})
    await layer.group_send("chat_1", {"type": "chat.message", "id": 2})

    await until(lambda: len(last.texts) == 2)
    assert len(first.texts) == 2


async def test_a_message_that_cannot_be_encoded_is_skipped_and_the_next_one_delivered():
    layer, member = InMemoryChannelLayer(), Member()
    await Rooms(layer).join("chat_1", member)

    await layer.group_send("chat_1", {"type": "chat.message", "id": 1, "message": b"not text"})
    await layer.group_send("chat_1", {"type": "chat.message", "id": 2, "message": "text"})

    await until(lambda: member.texts)
    assert [json.loads(text)["id"] for text in member.texts] == [2]


async def test_other_events_sent_to_the_room_go_to_each_members_own_channel():
    layer = InMemoryChannelLayer()
    members = [Member(channel_name=await layer.new_channel()) for _ in range(2)]
    for member in members:
        await Rooms(layer).join("chat_1", member)

    await layer.group_send("chat_1", {"type": "chat.membership", "courses": [1]})
    await layer.group_send("chat_1", {"type": "chat.message", "id": 2})

    for member in members:
        async with asyncio.timeout(2):
            assert await layer.receive(member.channel_name) == {"type": "chat.membership", "courses": [1]}
        await until(lambda member=member: member.texts)
        assert [json.loads(text)["id"] for text in member.texts] == [2]


async def test_rooms_are_apart_and_the_last_to_leave_closes_its_room():
    layer = InMemoryChannelLayer()
    rooms = Rooms(layer)
    here, there = Member(), Member()
    await rooms.join("chat_1", here)
    await rooms.join("chat_2", there)

    await layer.group_send("chat_2", {"type": "chat.message", "id": 1})
    await until(lambda: there.texts)
    assert here.texts == []

    assert rooms.leave("chat_1", Member()) is None  # not a member: nothing happens
    await rooms.leave("chat_2", there)
    assert "chat_2" not in layer.groups and rooms.members("chat_2") == []
    assert len(layer.groups["chat_1"]) == 1


async def test_who_joins_while_the_room_closes_gets_a_room_of_their_own():
    layer = InMemoryChannelLayer()
    rooms = Rooms(layer)
    leaving, joining = Member(), Member()
    await rooms.join("chat_1", leaving)

    closing = rooms.leave("chat_1", leaving)
    await rooms.join("chat_1", joining)
    await closing

    await layer.group_send("chat_1", {"type": "chat.message", "id": 1})
    await until(lambda: joining.texts)
    assert leaving.texts == []


# The room behind the chat consumer


@pytest.fixture
def course(make_course, make_user):
    return make_course("Rooms", students=[make_user("ana"), make_user("bob")])


@pytest.fixture(autouse=True)
def empty_channel_layer():
    async_to_sync(get_channel_layer().flush)()
    LocalSockets.forget_all()


@pytest.mark.django_db(transaction=True)
async def test_sockets_of_one_process_share_one_channel_of_the_room(course):
    ana_user, bob_user = await database_sync_to_async(lambda: list(course.students.order_by("username")))()
    ana, bob = await joined(ana_user, course.pk), await joined(bob_user, course.pk)
    layer = get_channel_layer()
    assert len(layer.groups[group_name(course.pk)]) == 1

    await ana.send_json_to({"message": "one channel, two sockets"})

    for socket in (ana, bob):
        assert (await socket.receive_json_from())["message"] == "one channel, two sockets"
    await ana.disconnect()
    await bob.disconnect()
    assert group_name(course.pk) not in layer.groups


@pytest.mark.django_db(transaction=True)
async def test_a_broadcast_during_the_catch_up_comes_after_the_missed_messages(course, monkeypatch):
    """Stored while the socket reads what it missed: sent after those, not in the middle."""
    ana_user, bob_user = await database_sync_to_async(lambda: list(course.students.order_by("username")))()
    bob = await joined(bob_user, course.pk)
    await bob.send_json_to({"message": "missed"})
    missed = await bob.receive_json_from()
    catch_up = ChatConsumer.__dict__["missed_messages"]

    async def slow_catch_up(consumer, after):
        frames = await catch_up.__get__(consumer, ChatConsumer)(after)
        await bob.send_json_to({"message": "live"})
        assert (await bob.receive_json_from())["message"] == "live"
        await asyncio.sleep(0.05)  # the room has handed it on by now
        return frames

    monkeypatch.setattr(ChatConsumer, "missed_messages", slow_catch_up)
    ana = await joined(ana_user, course.pk, "after=0")

    frames = [await ana.receive_json_from(), await ana.receive_json_from()]
    assert [frame["message"] for frame in frames] == ["missed", "live"]
    assert frames[0] == missed
    await ana.disconnect()
    await bob.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_socket_whose_connect_failed_after_joining_leaves_the_room(course, monkeypatch):
    ana_user = await database_sync_to_async(lambda: course.students.get(username="ana"))()

    async def failing_catch_up(consumer, after):
        raise DatabaseError("the database went away")

    monkeypatch.setattr(ChatConsumer, "missed_messages", failing_catch_up)
    ana = communicator_for(ana_user, course.pk, "after=0")
    assert (await ana.connect())[0]  # accepted before it catches up
    with pytest.raises(DatabaseError):
        await ana.receive_output()

    assert rooms_for(get_channel_layer()).members(group_name(course.pk)) == []
