"""The chat WebSocket: who may connect, what is accepted, and save-then-broadcast."""

import asyncio
import json
from datetime import timedelta

import pytest
from asgiref.sync import SyncToAsync, async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from chat import signals
from chat.consumers import BAD_KEY, KEY_TAKEN, NOT_A_MEMBER, TOO_FAST, ChatConsumer, message_frame
from chat.models import Message
from chat.rooms import rooms_for
from chat.sockets import LocalSockets
from tests.support.consumers import communicator_for, joined, site_communicator
from tests.support.settings import load_prod

pytestmark = [pytest.mark.unit, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def empty_channel_layer():
    """Each test starts with no groups, and no sockets counted, left over from another one."""
    async_to_sync(get_channel_layer().flush)()
    LocalSockets.forget_all()


@pytest.fixture
def student(make_user):
    return make_user("ana")


@pytest.fixture
def classmate(make_user):
    return make_user("bob")


@pytest.fixture
def outsider(make_user):
    return make_user("eve")


@pytest.fixture
def course(make_course, student, classmate):
    return make_course("Django deep dive", students=[student, classmate])


async def messages_in(course):
    return await database_sync_to_async(lambda: list(Message.objects.filter(course=course)))()


async def test_anonymous_users_are_refused(course):
    communicator = communicator_for(AnonymousUser(), course.pk)

    connected, _ = await communicator.connect()

    assert not connected


async def test_a_scope_without_a_user_is_refused(course):
    connected, _ = await communicator_for(None, course.pk).connect()

    assert not connected


async def test_users_not_enrolled_are_refused(course, outsider):
    connected, _ = await communicator_for(outsider, course.pk).connect()

    assert not connected


async def test_an_unknown_course_is_refused(student):
    connected, _ = await communicator_for(student, 987654).connect()

    assert not connected


async def test_enrolled_students_are_accepted(course, student):
    communicator = await joined(student, course.pk)

    await communicator.disconnect()


async def test_the_course_owner_is_accepted(course):
    communicator = await joined(course.owner, course.pk)

    await communicator.disconnect()


async def test_everyone_in_the_room_receives_a_message(course, student, classmate):
    ana = await joined(student, course.pk)
    bob = await joined(classmate, course.pk)

    await ana.send_json_to({"message": "  Hello, class!  "})

    for communicator in (ana, bob):
        frame = await communicator.receive_json_from()
        assert frame["user"] == "ana"
        assert frame["message"] == "Hello, class!"
        assert frame["datetime"].startswith(str((await messages_in(course))[0].sent_on.date()))
        assert set(frame) == {"id", "user", "message", "datetime", "key"}
    await ana.disconnect()
    await bob.disconnect()


async def test_other_rooms_do_not_receive_the_message(make_course, course, student):
    other_course = await database_sync_to_async(make_course)("Rust for beginners", students=[student])
    here = await joined(student, course.pk)
    elsewhere = await joined(student, other_course.pk)

    await here.send_json_to({"message": "only here"})

    assert (await here.receive_json_from())["message"] == "only here"
    assert await elsewhere.receive_nothing()
    await here.disconnect()
    await elsewhere.disconnect()


async def test_the_message_is_stored_before_it_is_broadcast(course, student, classmate, monkeypatch):
    layer = get_channel_layer()
    stored_at_broadcast = []
    original_group_send = layer.group_send

    async def watching_group_send(group, message):
        stored_at_broadcast.append(
            await database_sync_to_async(Message.objects.filter(content=message["message"]).exists)()
        )
        await original_group_send(group, message)

    monkeypatch.setattr(layer, "group_send", watching_group_send)
    ana = await joined(student, course.pk)
    bob = await joined(classmate, course.pk)

    await ana.send_json_to({"message": "persist me"})
    frame = await bob.receive_json_from()

    stored = await database_sync_to_async(Message.objects.select_related("user", "course").get)(
        pk=frame["id"]
    )
    assert (stored.content, stored.user, stored.course) == ("persist me", student, course)
    assert stored_at_broadcast == [True]
    await ana.disconnect()
    await bob.disconnect()


async def test_nothing_is_broadcast_when_saving_fails(course, student, classmate, monkeypatch):
    async def failing_save(self, *args):
        raise DatabaseError("database is gone")

    monkeypatch.setattr(ChatConsumer, "save_message", failing_save)
    ana = await joined(student, course.pk)
    bob = await joined(classmate, course.pk)

    await ana.send_json_to({"message": "lost"})

    assert "error" in await ana.receive_json_from()
    assert await bob.receive_nothing()
    assert await messages_in(course) == []
    await ana.disconnect()
    await bob.disconnect()


async def test_html_is_delivered_as_plain_text(course, student, classmate):
    ana = await joined(student, course.pk)
    bob = await joined(classmate, course.pk)
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'

    await ana.send_json_to({"message": payload})

    assert (await bob.receive_json_from())["message"] == payload
    assert [message.content for message in await messages_in(course)] == [payload]
    await ana.disconnect()
    await bob.disconnect()


async def test_an_oversized_message_is_refused_and_not_stored(course, student, classmate):
    ana = await joined(student, course.pk)
    bob = await joined(classmate, course.pk)

    await ana.send_json_to({"message": "x" * (settings.CHAT_MESSAGE_MAX_LENGTH + 1)})

    frame = await ana.receive_json_from()
    assert str(settings.CHAT_MESSAGE_MAX_LENGTH) in frame["error"]
    assert await bob.receive_nothing()
    assert await messages_in(course) == []

    # The connection is still usable.
    await ana.send_json_to({"message": "x" * settings.CHAT_MESSAGE_MAX_LENGTH})
    assert len((await bob.receive_json_from())["message"]) == settings.CHAT_MESSAGE_MAX_LENGTH
    await ana.disconnect()
    await bob.disconnect()


async def test_a_frame_far_over_the_limit_closes_the_connection(course, student):
    ana = await joined(student, course.pk)

    await ana.send_to(text_data=json.dumps({"message": "x" * (settings.CHAT_MESSAGE_MAX_LENGTH * 10)}))

    closed = await ana.receive_output()
    assert closed == {"type": "websocket.close", "code": 4009}
    assert await messages_in(course) == []
    await ana.disconnect()


@pytest.mark.parametrize(
    "frame",
    ["not json", "[1, 2]", '"hello"', '{"message": 42}', '{"text": "hello"}', "null"],
)
async def test_a_malformed_frame_gets_an_error_and_the_connection_stays_usable(course, student, frame):
    ana = await joined(student, course.pk)

    await ana.send_to(text_data=frame)

    assert "error" in await ana.receive_json_from()
    await ana.send_json_to({"message": "still here"})
    assert (await ana.receive_json_from())["message"] == "still here"
    await ana.disconnect()


async def test_a_binary_frame_gets_an_error(course, student):
    ana = await joined(student, course.pk)

    await ana.send_to(bytes_data=b'{"message": "hi"}')

    assert "text frames" in (await ana.receive_json_from())["error"]
    assert await messages_in(course) == []
    await ana.disconnect()


async def test_an_empty_message_is_ignored(course, student):
    ana = await joined(student, course.pk)

    await ana.send_json_to({"message": "   "})

    assert await ana.receive_nothing()
    assert await messages_in(course) == []
    await ana.disconnect()


async def test_leaving_the_room_stops_delivery(course, student, classmate):
    ana = await joined(student, course.pk)
    bob = await joined(classmate, course.pk)
    room = rooms_for(get_channel_layer())
    assert len(room.members(f"chat_{course.pk}")) == 2

    await bob.disconnect()
    await ana.send_json_to({"message": "only ana is here"})

    assert (await ana.receive_json_from())["message"] == "only ana is here"
    assert len(room.members(f"chat_{course.pk}")) == 1
    await ana.disconnect()
    assert room.members(f"chat_{course.pk}") == []


# The production entry point: session cookie, Origin check and routing together.


@pytest.fixture
def session_cookie(client, student):
    client.force_login(student)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def asgi_communicator(course_id, cookie, origin):
    return site_communicator(f"/ws/chat/room/{course_id}/", cookie, origin)


async def test_the_site_application_authenticates_with_the_session_cookie(course, session_cookie):
    communicator = asgi_communicator(course.pk, session_cookie, "https://educa.test")

    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"message": "through the real stack"})
    assert (await communicator.receive_json_from())["user"] == "ana"
    await communicator.disconnect()


async def test_the_site_application_refuses_foreign_origins(course, session_cookie):
    communicator = asgi_communicator(course.pk, session_cookie, "https://evil.example")

    connected, _ = await communicator.connect()

    assert not connected


async def test_the_site_application_refuses_connections_without_a_session(course):
    communicator = asgi_communicator(course.pk, "", "https://educa.test")

    connected, _ = await communicator.connect()

    assert not connected


# Chat history goes with what it belongs to.


def test_deleting_a_course_deletes_its_chat_history(course, student):
    Message.objects.create(course=course, user=student, content="hi")

    course.delete()

    assert not Message.objects.exists()


def test_deleting_a_user_deletes_their_messages_only(course, student, classmate):
    Message.objects.create(course=course, user=student, content="from ana")
    Message.objects.create(course=course, user=classmate, content="from bob")

    student.delete()

    assert list(Message.objects.values_list("content", flat=True)) == ["from bob"]


async def test_a_student_removed_from_the_course_can_no_longer_post(course, student, monkeypatch):
    """Should the server's own close not arrive (a message already on its way), sending still checks."""
    monkeypatch.setattr(signals, "_send", lambda group, event: None)
    communicator = await joined(student, course.pk)
    await database_sync_to_async(course.students.remove)(student)

    await communicator.send_json_to({"message": "still here?"})

    assert await communicator.receive_json_from() == {"error": "You are no longer a member of this course."}
    closed = await communicator.receive_output()
    assert closed == {"type": "websocket.close", "code": 4003}
    assert await messages_in(course) == []


# Abuse limits: the message rate of a socket.


class FakeClock:
    """The rate limit's clock, moved by the test alone."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(ChatConsumer, "clock", staticmethod(fake))
    return fake


@pytest.fixture
def rate(settings):
    settings.CHAT_RATE_BURST = 3
    settings.CHAT_RATE_PER_SECOND = 2
    return settings


async def say_all(sender, texts, *listeners):
    for text in texts:
        await sender.send_json_to({"message": text})
        for communicator in (sender, *listeners):
            assert (await communicator.receive_json_from())["message"] == text


async def test_a_message_over_the_rate_is_refused_and_neither_stored_nor_broadcast(
    rate, clock, course, student, classmate
):
    ana = await joined(student, course.pk)
    bob = await joined(classmate, course.pk)
    await say_all(ana, ["one", "two", "three"], bob)

    await ana.send_json_to({"message": "four"})

    assert await ana.receive_json_from() == {"error": TOO_FAST}
    assert await bob.receive_nothing()
    assert [message.content for message in await messages_in(course)] == ["one", "two", "three"]
    await ana.disconnect()
    await bob.disconnect()


async def test_the_rate_refills_over_time(rate, clock, course, student):
    ana = await joined(student, course.pk)
    await say_all(ana, ["one", "two", "three"])

    clock.now += 0.4  # 0.8 of a message at 2 a second
    await ana.send_json_to({"message": "too soon"})
    assert await ana.receive_json_from() == {"error": TOO_FAST}
    clock.now += 0.6  # now more than one, although the refused frame took none
    await say_all(ana, ["again"])
    clock.now += 60  # a long pause gives back the burst, no more
    await say_all(ana, ["a", "b", "c"])
    await ana.send_json_to({"message": "d"})
    assert await ana.receive_json_from() == {"error": TOO_FAST}
    await ana.disconnect()


async def test_every_frame_counts_towards_the_rate(rate, clock, course, student):
    ana = await joined(student, course.pk)
    for frame in ("not json", '{"message": "   "}'):
        await ana.send_to(text_data=frame)
    await ana.send_to(bytes_data=b"binary")
    assert "error" in await ana.receive_json_from()
    assert "text frames" in (await ana.receive_json_from())["error"]

    await ana.send_json_to({"message": "fourth frame"})

    assert await ana.receive_json_from() == {"error": TOO_FAST}
    await ana.disconnect()


async def test_a_client_that_keeps_flooding_is_closed_and_the_room_goes_on(
    rate, clock, course, student, classmate
):
    ana = await joined(student, course.pk)
    bob = await joined(classmate, course.pk)
    await say_all(ana, ["one", "two", "three"], bob)
    for _ in range(3):
        await ana.send_json_to({"message": "flood"})
        assert await ana.receive_json_from() == {"error": TOO_FAST}

    await ana.send_json_to({"message": "flood"})

    assert await ana.receive_output() == {"type": "websocket.close", "code": 4008}
    # frames still arriving are dropped unanswered
    await ana.send_json_to({"message": "flood"})
    assert await ana.receive_nothing()
    # the rate is per socket: the classmate chats on as before
    await say_all(bob, ["bob 1", "bob 2", "bob 3"])
    assert len(await messages_in(course)) == 6
    await ana.disconnect()
    await bob.disconnect()


async def test_an_accepted_message_forgives_earlier_refusals(rate, clock, course, student):
    """Only refusals in a row close the socket: someone typing fast is told, not thrown out."""
    ana = await joined(student, course.pk)
    await say_all(ana, ["one", "two", "three"])
    for _ in range(4):
        for _ in range(3):
            await ana.send_json_to({"message": "quick"})
            assert await ana.receive_json_from() == {"error": TOO_FAST}
        clock.now += 0.5
        await say_all(ana, ["paced"])
    await ana.disconnect()


# Abuse limits: simultaneous sockets per user.


@pytest.fixture
def cap(settings):
    settings.CHAT_MAX_SOCKETS_PER_USER = 2
    return settings


async def test_a_socket_over_the_cap_is_accepted_then_closed_with_4029(
    cap, make_course, course, student, classmate
):
    other_course = await database_sync_to_async(make_course)("Rust for beginners", students=[student])
    # the cap counts the user's sockets in every room
    first = await joined(student, course.pk)
    second = await joined(student, other_course.pk)
    bob = await joined(classmate, course.pk)

    third = communicator_for(student, course.pk)
    connected, _ = await third.connect()

    assert connected
    assert await third.receive_output() == {"type": "websocket.close", "code": 4029}
    # it never joined the room
    await bob.send_json_to({"message": "hello"})
    assert (await first.receive_json_from())["message"] == "hello"
    assert await third.receive_nothing()
    # a classmate has places of their own
    await (await joined(classmate, course.pk)).disconnect()
    for communicator in (first, second, third, bob):
        await communicator.disconnect()


async def test_a_closed_socket_gives_its_place_back(cap, course, student):
    first = await joined(student, course.pk)
    second = await joined(student, course.pk)
    await first.disconnect()

    third = await joined(student, course.pk)

    await third.send_json_to({"message": "in again"})
    assert (await third.receive_json_from())["message"] == "in again"
    await second.disconnect()
    await third.disconnect()


async def test_a_refused_socket_takes_no_place(cap, course, student):
    sockets = [await joined(student, course.pk) for _ in range(2)]
    refused = communicator_for(student, course.pk)
    await refused.connect()
    assert (await refused.receive_output())["code"] == 4029
    await refused.disconnect()
    await sockets[0].disconnect()

    await (await joined(student, course.pk)).disconnect()
    await sockets[1].disconnect()


# Removal from the course closes the room at once.


async def closed_for_not_being_a_member(communicator):
    assert await communicator.receive_json_from() == {"error": NOT_A_MEMBER}
    assert await communicator.receive_output() == {"type": "websocket.close", "code": 4003}


@pytest.mark.parametrize(
    ("remove", "leaves_every_course"),
    [
        pytest.param(lambda course, user: course.students.remove(user), False, id="students.remove"),
        pytest.param(lambda course, user: user.courses_joined.remove(course), False, id="joined.remove"),
        pytest.param(lambda course, user: course.students.clear(), False, id="students.clear"),
        pytest.param(lambda course, user: course.students.set([]), False, id="students.set"),
        pytest.param(lambda course, user: user.courses_joined.clear(), True, id="joined.clear"),
    ],
)
async def test_a_removed_student_is_closed_at_once_and_reads_nothing_more(
    remove, leaves_every_course, make_course, course, student
):
    owner = await joined(course.owner, course.pk)
    other_course = await database_sync_to_async(make_course)("Rust for beginners", students=[student])
    ana = await joined(student, course.pk)
    elsewhere = await joined(student, other_course.pk)

    await database_sync_to_async(remove)(course, student)

    await closed_for_not_being_a_member(ana)
    await owner.send_json_to({"message": "after ana left"})
    assert (await owner.receive_json_from())["message"] == "after ana left"
    assert await ana.receive_nothing()
    if leaves_every_course:
        await closed_for_not_being_a_member(elsewhere)
    else:
        # still a member of the other course, whose room stays open
        await say_all(elsewhere, ["still here"])
    for communicator in (owner, ana, elsewhere):
        await communicator.disconnect()


async def test_the_other_students_and_the_owner_stay(course, student, classmate):
    ana = await joined(student, course.pk)
    bob = await joined(classmate, course.pk)
    owner = await joined(course.owner, course.pk)

    await database_sync_to_async(course.students.remove)(student)

    await closed_for_not_being_a_member(ana)
    await say_all(bob, ["bob stays"], owner)
    for communicator in (ana, bob, owner):
        await communicator.disconnect()


async def test_enrolling_someone_closes_nobody(make_user, course, student):
    ana = await joined(student, course.pk)

    newcomer = await database_sync_to_async(make_user)("cleo")
    await database_sync_to_async(course.students.add)(newcomer)

    assert await ana.receive_nothing()
    await ana.disconnect()


async def test_deleting_the_course_closes_its_room(course, student):
    ana = await joined(student, course.pk)
    owner = await joined(course.owner, course.pk)

    await database_sync_to_async(course.delete)()

    await closed_for_not_being_a_member(ana)
    await closed_for_not_being_a_member(owner)


async def test_a_deleted_account_is_closed(course, student, django_user_model):
    # the socket's user is its own copy, loaded from the session
    ana = await joined(await django_user_model.objects.aget(pk=student.pk), course.pk)

    await database_sync_to_async(student.delete)()

    await closed_for_not_being_a_member(ana)


async def test_a_failed_notification_does_not_stop_the_removal(course, student, monkeypatch):
    layer = get_channel_layer()

    async def unreachable(group, message):
        raise ConnectionError("Redis is away")

    monkeypatch.setattr(layer, "group_send", unreachable)

    await database_sync_to_async(course.students.remove)(student)

    assert not await database_sync_to_async(course.students.filter(pk=student.pk).exists)()


# Signing out closes the sockets of that session.


def session_of(client, user):
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


async def test_signing_out_closes_the_sockets_of_that_session_only(course, student, classmate):
    from django.test import Client

    laptop, phone = Client(), Client()
    laptop_cookie = await database_sync_to_async(session_of)(laptop, student)
    phone_cookie = await database_sync_to_async(session_of)(phone, student)
    path = f"/ws/chat/room/{course.pk}/"
    on_laptop = [site_communicator(path, laptop_cookie) for _ in range(2)]
    on_phone = site_communicator(path, phone_cookie)
    for communicator in (*on_laptop, on_phone):
        assert (await communicator.connect())[0]
    bob = await joined(classmate, course.pk)

    await database_sync_to_async(laptop.logout)()

    for communicator in on_laptop:
        assert await communicator.receive_json_from() == {"error": "You have signed out."}
        assert await communicator.receive_output() == {"type": "websocket.close", "code": 4001}
    await bob.send_json_to({"message": "still reading, phone?"})
    assert (await on_phone.receive_json_from())["message"] == "still reading, phone?"
    for communicator in on_laptop:
        assert await communicator.receive_nothing()
    # and the laptop's cookie opens nothing any more
    refused = site_communicator(path, laptop_cookie)
    assert not (await refused.connect())[0]
    for communicator in (*on_laptop, on_phone, bob):
        await communicator.disconnect()


# The Origin check is exact.


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.educa.test",  # a subdomain ALLOWED_HOSTS (.educa.test) answers
        "https://educa.test:8443",  # another port
        "http://educa.test",  # another scheme
        "https://educa.test.evil.example",
        "null",
    ],
)
async def test_only_the_sites_own_origin_may_open_the_socket(course, session_cookie, origin):
    communicator = asgi_communicator(course.pk, session_cookie, origin)

    connected, _ = await communicator.connect()

    assert not connected


def test_the_allowed_origins_are_the_site_with_its_port_and_the_trusted_ones(settings):
    from educa.websocket import allowed_origins

    settings.SITE_DOMAIN = "educa.example"
    settings.ALLOWED_HOSTS = ["educa.example"]
    settings.HTTPS_PORT = 443
    settings.WEBSOCKET_TRUSTED_ORIGINS = []
    assert allowed_origins() == ["https://educa.example"]

    # www is the site itself, when the site answers it
    settings.ALLOWED_HOSTS = [".educa.example"]
    settings.HTTPS_PORT = 8443
    settings.WEBSOCKET_TRUSTED_ORIGINS = [
        "https://educa.example:8443",
        "https://teach.educa.example",
        "https://*.educa.example",
        "https://.educa.example",
    ]
    assert allowed_origins() == [
        "https://educa.example:8443",
        "https://www.educa.example:8443",
        "https://teach.educa.example",
    ]

    settings.WEBSOCKET_ALLOWED_ORIGINS = ["localhost"]
    assert allowed_origins() == ["localhost"]


@pytest.mark.parametrize(
    ("value", "port"), [("443", 443), ("8443", 8443), ("127.0.0.1:8443", 8443), ("[::1]:8443", 8443)]
)
def test_the_https_port_may_carry_a_bind_address(monkeypatch, value, port):
    prod = load_prod(monkeypatch, HTTPS_PORT=value)

    assert port == prod.HTTPS_PORT


def test_an_https_port_that_is_no_number_stops_the_start(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="HTTPS_PORT must be a port number: 'https'"):
        load_prod(monkeypatch, HTTPS_PORT="https")


def test_only_origins_the_operator_named_are_trusted_besides_the_site(monkeypatch):
    """prod derives CSRF_TRUSTED_ORIGINS from ALLOWED_HOSTS without the port: not for the socket."""
    derived = load_prod(monkeypatch, unset=["CSRF_TRUSTED_ORIGINS"])
    assert derived.CSRF_TRUSTED_ORIGINS and derived.WEBSOCKET_TRUSTED_ORIGINS == []

    named = load_prod(monkeypatch, CSRF_TRUSTED_ORIGINS="https://a.example,https://b.example:8443")

    assert named.WEBSOCKET_TRUSTED_ORIGINS == ["https://a.example", "https://b.example:8443"]


# Reconnecting: catching up with ?after=, and message keys sent again.


def store(course, user, *texts, key=None, seconds_ago=0):
    """Messages stored as if sent earlier; their frames, as the server sends them."""
    frames = []
    for text in texts:
        message = Message.objects.create(course=course, user=user, content=text, client_key=key)
        if seconds_ago:
            # sent_on is auto_now_add: moved back afterwards
            message.sent_on -= timedelta(seconds=seconds_ago)
            message.save(update_fields=["sent_on"])
        frames.append(message_frame(message))
    return frames


async def received_until_quiet(communicator, count):
    """The next ``count`` frames, and nothing after them."""
    frames = [await communicator.receive_json_from() for _ in range(count)]
    assert await communicator.receive_nothing(), "more frames than expected"
    return frames


async def frames_on(communicators, count, timeout=5):
    """``count`` frames, from whichever of ``communicators`` they arrive on."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    frames = []
    while len(frames) < count:
        assert loop.time() < deadline, f"{len(frames)} frames of {count} within {timeout}s"
        for communicator in communicators:
            if not await communicator.receive_nothing(timeout=0.02):
                frames.append(await communicator.receive_json_from())
    return frames


async def test_a_socket_opened_with_after_first_gets_the_messages_it_missed(course, student, classmate):
    # "one" long enough before "two" not to be sent again
    seen = await database_sync_to_async(store)(course, student, "one", seconds_ago=60)
    seen += await database_sync_to_async(store)(course, student, "two")
    missed = await database_sync_to_async(store)(course, classmate, "three", "four")
    missed += await database_sync_to_async(store)(course, student, "five", key="k-5")

    ana = await joined(student, course.pk, f"after={seen[-1]['id']}")

    assert await received_until_quiet(ana, 3) == missed
    assert [frame["message"] for frame in missed] == ["three", "four", "five"]
    assert missed[-1]["key"] == "k-5" and missed[0]["key"] is None
    await ana.disconnect()


async def test_catching_up_also_sends_what_was_stored_just_before_the_newest_message_seen(
    course, student, classmate
):
    """Ids are taken on insert, broadcasts go out on commit from several Daphnes: a socket
    may see a message before one with a lower id, and drop before the other arrives."""
    long_before = await database_sync_to_async(store)(course, classmate, "long before", seconds_ago=15)
    overtaken = await database_sync_to_async(store)(
        course, classmate, "stored first, broadcast late", seconds_ago=2
    )
    seen = await database_sync_to_async(store)(course, student, "stored second, broadcast first")
    later = await database_sync_to_async(store)(course, classmate, "while away")

    ana = await joined(student, course.pk, f"after={seen[0]['id']}")

    assert await received_until_quiet(ana, 2) == overtaken + later
    assert long_before[0]["id"] < overtaken[0]["id"] < seen[0]["id"] < later[0]["id"]
    await ana.disconnect()


async def test_an_after_from_another_room_catches_up_by_id_alone(make_course, course, student, classmate):
    other_course = await database_sync_to_async(make_course)("Rust for beginners", students=[student])
    before = await database_sync_to_async(store)(course, classmate, "here, just before")
    elsewhere = await database_sync_to_async(store)(other_course, student, "elsewhere")
    after = await database_sync_to_async(store)(course, classmate, "here, after")

    ana = await joined(student, course.pk, f"after={elsewhere[0]['id']}")

    assert await received_until_quiet(ana, 1) == after
    assert before[0]["id"] < elsewhere[0]["id"]
    await ana.disconnect()


async def test_a_caught_up_message_is_the_frame_that_was_broadcast(course, student):
    ana = await joined(student, course.pk)
    await ana.send_json_to({"message": "live", "key": "live-1"})
    live = await ana.receive_json_from()

    again = await joined(student, course.pk, "after=0")

    assert await received_until_quiet(again, 1) == [live]
    assert live["key"] == "live-1"
    await ana.disconnect()
    await again.disconnect()


async def test_without_after_nothing_is_caught_up(course, student):
    await database_sync_to_async(store)(course, student, "before")

    ana = await joined(student, course.pk)

    assert await ana.receive_nothing()
    await ana.disconnect()


async def test_catching_up_sends_the_newest_history_length_oldest_first(settings, course, student):
    settings.CHAT_HISTORY_LENGTH = 3
    frames = await database_sync_to_async(store)(course, student, "1", "2", "3", "4", "5")

    ana = await joined(student, course.pk, "after=0")

    assert await received_until_quiet(ana, 3) == frames[-3:]
    await ana.disconnect()


async def test_only_the_rooms_own_messages_are_caught_up(make_course, course, student):
    other_course = await database_sync_to_async(make_course)("Rust for beginners", students=[student])
    await database_sync_to_async(store)(other_course, student, "elsewhere")
    here = await database_sync_to_async(store)(course, student, "here")

    ana = await joined(student, course.pk, "after=0")

    assert await received_until_quiet(ana, 1) == here
    await ana.disconnect()


@pytest.mark.parametrize(
    "query",
    [
        "after=",
        "after=-1",
        "after=abc",
        "after=1.5",
        "after=1e3",
        "after=0x10",
        "after=%D9%A1",
        "after=" + "9" * 19,
    ],
)
async def test_a_malformed_after_is_ignored(course, student, query):
    await database_sync_to_async(store)(course, student, "before")

    ana = await joined(student, course.pk, query)

    assert await ana.receive_nothing()
    await ana.send_json_to({"message": "still chatting"})
    assert (await ana.receive_json_from())["message"] == "still chatting"
    await ana.disconnect()


async def test_a_message_stored_just_after_the_catch_up_read_arrives_live(
    course, student, classmate, monkeypatch
):
    """The socket joins the room before reading: nothing stored in between is lost."""
    earlier = await database_sync_to_async(store)(course, classmate, "earlier")
    # the method as defined (from the class, database_sync_to_async would bind None)
    original = vars(ChatConsumer)["missed_messages"]
    late = []

    async def read_then_someone_speaks(self, after):
        frames = await original(self, after)
        # another socket stores and broadcasts a message now, after the read
        late.extend(await database_sync_to_async(store)(course, classmate, "just now"))
        await get_channel_layer().group_send(f"chat_{course.pk}", {"type": "chat.message", **late[0]})
        return frames

    monkeypatch.setattr(ChatConsumer, "missed_messages", read_then_someone_speaks)

    ana = await joined(student, course.pk, "after=0")

    assert await received_until_quiet(ana, 2) == earlier + late
    await ana.disconnect()


async def test_a_key_sent_again_is_not_stored_again_and_is_broadcast_again(course, student, classmate):
    ana = await joined(student, course.pk)
    ana_phone = await joined(student, course.pk)
    bob = await joined(classmate, course.pk)
    await ana.send_json_to({"message": "only once", "key": "abc-123_XYZ"})
    first = await ana.receive_json_from()
    for communicator in (ana_phone, bob):
        assert await communicator.receive_json_from() == first

    # the same frame again, as after a reconnect that lost the echo
    await ana.send_json_to({"message": "only once", "key": "abc-123_XYZ"})

    # the same frame, same id: a copy each client drops
    for communicator in (ana, ana_phone, bob):
        assert await received_until_quiet(communicator, 1) == [first]
    assert first["key"] == "abc-123_XYZ" and first["message"] == "only once"
    assert [message.content for message in await messages_in(course)] == ["only once"]
    for communicator in (ana, ana_phone, bob):
        await communicator.disconnect()


async def test_a_key_sent_again_from_another_socket_is_confirmed_with_the_stored_text(course, student):
    """The stored message is what comes back, whatever text came with the copy."""
    ana = await joined(student, course.pk)
    await ana.send_json_to({"message": "first copy", "key": "k1"})
    first = await ana.receive_json_from()
    await ana.disconnect()

    reconnected = await joined(student, course.pk)
    await reconnected.send_json_to({"message": "second copy", "key": "k1"})

    assert await reconnected.receive_json_from() == first
    assert await reconnected.receive_nothing()
    assert [message.content for message in await messages_in(course)] == ["first copy"]
    await reconnected.disconnect()


async def test_a_message_whose_server_stopped_before_broadcasting_reaches_the_room_when_sent_again(
    course, student, classmate
):
    """A deploy cancels a Daphne's consumers: one may have stored a message and never broadcast it.
    Bob stayed connected elsewhere and has no reason to catch up; Ana's copy is the room's chance."""
    bob = await joined(classmate, course.pk)
    stored = await database_sync_to_async(store)(course, student, "said as the server stopped", key="k-lost")
    assert await bob.receive_nothing()

    ana = await joined(student, course.pk)
    await ana.send_json_to({"message": "said as the server stopped", "key": "k-lost"})

    for communicator in (ana, bob):
        assert await received_until_quiet(communicator, 1) == stored
    assert len(await messages_in(course)) == 1
    await ana.disconnect()
    await bob.disconnect()


async def test_keys_are_each_users_own(course, student, classmate):
    ana = await joined(student, course.pk)
    bob = await joined(classmate, course.pk)

    for sender, text in ((ana, "from ana"), (bob, "from bob")):
        await sender.send_json_to({"message": text, "key": "same"})
        for communicator in (ana, bob):
            assert (await communicator.receive_json_from())["message"] == text

    assert len(await messages_in(course)) == 2
    await ana.disconnect()
    await bob.disconnect()


async def test_messages_without_a_key_are_all_stored(course, student):
    ana = await joined(student, course.pk)

    for frame in ({"message": "no key"}, {"message": "no key"}, {"message": "null key", "key": None}):
        await ana.send_json_to(frame)
        assert (await ana.receive_json_from())["key"] is None

    assert len(await messages_in(course)) == 3
    await ana.disconnect()


@pytest.mark.parametrize(
    "key",
    ["", "x" * 65, "with space", "ünïcödé", "new\nline", "trailing\n", "a/b", 42, True, ["k"], {"k": "v"}],
    ids=repr,
)
async def test_a_key_of_the_wrong_shape_is_refused(course, student, classmate, key):
    ana = await joined(student, course.pk)
    bob = await joined(classmate, course.pk)

    await ana.send_json_to({"message": "hello", "key": key})

    assert await ana.receive_json_from() == {"error": BAD_KEY}
    assert await bob.receive_nothing()
    assert await messages_in(course) == []
    # the longest key there may be is taken
    await ana.send_json_to({"message": "hello", "key": "k" * 64})
    assert (await bob.receive_json_from())["key"] == "k" * 64
    await ana.disconnect()
    await bob.disconnect()


async def test_a_key_used_in_another_room_is_refused(make_course, course, student):
    other_course = await database_sync_to_async(make_course)("Rust for beginners", students=[student])
    await database_sync_to_async(store)(other_course, student, "there", key="k1")
    ana = await joined(student, course.pk)

    await ana.send_json_to({"message": "here", "key": "k1"})

    assert await ana.receive_json_from() == {"error": KEY_TAKEN}
    assert [message.content for message in await messages_in(course)] == []
    await ana.disconnect()


async def test_the_same_key_from_two_sockets_at_once_is_stored_once(course, student, classmate):
    ana = await joined(student, course.pk)
    ana_phone = await joined(student, course.pk)
    bob = await joined(classmate, course.pk)

    await asyncio.gather(
        ana.send_json_to({"message": "raced", "key": "race"}),
        ana_phone.send_json_to({"message": "raced", "key": "race"}),
    )

    # one broadcast for each copy, of the one message stored
    from_ana = await frames_on([ana, ana_phone], 4)
    from_bob = await received_until_quiet(bob, 2)
    stored = await messages_in(course)
    assert len(stored) == 1 and from_bob[0]["id"] == stored[0].pk
    assert all(frame == from_bob[0] for frame in from_ana + from_bob)
    for communicator in (ana, ana_phone):
        assert await communicator.receive_nothing()
    for communicator in (ana, ana_phone, bob):
        await communicator.disconnect()


async def test_every_copy_counts_towards_the_rate(rate, clock, course, student):
    ana = await joined(student, course.pk)
    for _ in range(3):
        await ana.send_json_to({"message": "again", "key": "k1"})
        assert (await ana.receive_json_from())["key"] == "k1"

    await ana.send_json_to({"message": "again", "key": "k1"})

    assert await ana.receive_json_from() == {"error": TOO_FAST}
    await ana.disconnect()


async def test_a_broadcast_reaches_every_socket_without_a_hop_into_a_thread(
    course, student, classmate, monkeypatch
):
    """A hop into Django's one sync thread per socket made a room of 500 wait for 500 hops
    in a row for each message (bench/chat_scale.py measures it); the consumer makes none."""
    members = [await joined(student, course.pk) for _ in range(3)] + [await joined(classmate, course.pk)]
    hops = []
    hop = SyncToAsync.__call__

    def counted_hop(self, *args, **kwargs):
        hops.append(getattr(self.func, "__name__", repr(self.func)))
        return hop(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counted_hop)
    frame = await database_sync_to_async(store)(course, classmate, "to everyone")
    assert hops == ["store"]

    await get_channel_layer().group_send(f"chat_{course.pk}", {"type": "chat.message", **frame[0]})

    for member in members:
        assert await received_until_quiet(member, 1) == frame
    assert hops == ["store"]
    for member in members:
        await member.disconnect()


async def test_a_broadcast_without_a_key_from_a_process_of_the_previous_version_has_key_null(course, student):
    """During a rolling deploy, processes still on the old code broadcast without "key"."""
    ana = await joined(student, course.pk)
    old = {"id": 7, "user": "bob", "message": "from an old Daphne", "datetime": "2026-12-02T10:15:00+00:00"}

    await get_channel_layer().group_send(f"chat_{course.pk}", {"type": "chat.message", **old})

    assert await ana.receive_json_from() == {**old, "key": None}
    await ana.disconnect()
