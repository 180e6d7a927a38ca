"""The course chat through NGINX, Daphne, Redis (channel layer) and PostgreSQL."""

import contextlib
import math
import time

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.support.journeys import (
    chat_round_trip,
    enrolled_student,
    load_demo_courses,
    new_student,
    say,
    signed_in,
)

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module", autouse=True)
def demo_courses(stack):
    load_demo_courses(stack)


def test_two_students_chat_and_the_messages_are_kept(stack):
    """Two enrolled students exchange messages live over WSS; the messages are kept in the room's history."""
    chat = chat_round_trip(stack)

    stored = stack.psql("select content from chat_message order by id desc limit 50").splitlines()
    for text in chat["messages"]:
        assert text in stored

    room = chat["client"].get(f"{stack.base_url}/chat/room/{chat['course']}/", timeout=30)
    assert room.status_code == 200
    for text in chat["messages"]:
        assert text in room.text


def refused_status(stack, course, session=None, origin=None):
    with pytest.raises(InvalidStatus) as refused, stack.chat(course, session, origin=origin):
        pass
    return refused.value.response.status_code


def test_foreign_origin_is_refused(stack):
    """A page on another site cannot open the chat with a student's cookies (WebSocket hijacking)."""
    _, session, course = enrolled_student(stack, "carla")
    assert refused_status(stack, course, session, origin="https://evil.example") == 403
    # nor can a page on a subdomain of the site, which NGINX and Django answer
    domain, port = stack.env["SITE_DOMAIN"], stack.https_port
    assert refused_status(stack, course, session, origin=f"https://evil.{domain}:{port}") == 403
    assert refused_status(stack, course, session, origin=f"https://evil.{domain}") == 403
    # nor the site's name on another port or scheme
    assert refused_status(stack, course, session, origin=f"https://{domain}") == 403
    assert refused_status(stack, course, session, origin=f"http://{domain}:{port}") == 403
    # the same student from the site's own pages is let in
    with stack.chat(course, session, origin=f"https://{domain}:{port}") as socket:
        say(socket, "from the site itself")


def test_anonymous_and_outsiders_are_refused(stack):
    """Only the course's signed-in students reach its chat: anonymous visitors and outsiders are refused."""
    _, _, course = enrolled_student(stack, "dora")
    assert refused_status(stack, course) == 403
    _, outsider = new_student(stack, "outsider")
    assert refused_status(stack, course, outsider) == 403


# --- Abuse limits and closing the room to those who left ---------------------------

# The stack runs with the defaults (docker-compose.yml, .env.example).
BURST = 10
RATE_PER_SECOND = 1
MAX_SOCKETS = 5
TOO_FAST = {"error": "You are sending messages too fast; wait a moment."}


def read_until(socket, text):
    """The frames a listener receives up to ``text`` (included): messages of the room, never an error."""
    frames = []
    while not frames or frames[-1].get("message") != text:
        frames.append(socket.receive_json())
        assert "error" not in frames[-1], frames
    return frames


def test_a_flood_is_refused_then_closed_while_the_others_chat_on(stack):
    """Far over the rate, messages are refused, then the socket is closed; nobody else is slowed."""
    flooder, flooder_client, course = enrolled_student(stack, "flood")
    _, bob_client, _ = enrolled_student(stack, "bob")
    _, cleo_client, _ = enrolled_student(stack, "cleo")
    with (
        stack.chat(course, flooder_client) as flood,
        stack.chat(course, bob_client) as bob,
        stack.chat(course, cleo_client) as cleo,
    ):
        closing = flood.read_until_closed()
        started = time.monotonic()
        try:
            for number in range(3 * BURST):
                flood.send({"message": f"flood {number}"})
        except ConnectionClosed:
            pass  # closed before the last ones went out: that is the point
        closed = closing.result()
        elapsed = time.monotonic() - started

        assert closed.code == 4008
        frames = closed.json_frames()
        refused = [frame for frame in frames if "id" not in frame]
        # What was stored is what the database holds: the flooder's own copies
        # stop at the close (a broadcast still on its way to a closed socket
        # is dropped), so they may lack the last ones.
        # (user names are letters, digits and a dash: see unique_name)
        kept = stack.psql(
            "select string_agg(content, '|' order by chat_message.id) from chat_message "  # noqa: S608
            f"join auth_user on auth_user.id = chat_message.user_id where auth_user.username = '{flooder}'"
        )
        stored = kept.split("|")
        # the burst, plus what the rate gave back while the flood lasted
        assert BURST <= len(stored) <= BURST + math.ceil(elapsed * RATE_PER_SECOND), stored
        echoed = [frame["message"] for frame in frames if "id" in frame]
        assert echoed == stored[: len(echoed)]
        assert len(refused) >= BURST and all(frame == TOO_FAST for frame in refused)

        # The others saw exactly what was stored and chat on at their own pace.
        for listener in (bob, cleo):
            assert [frame["message"] for frame in read_until(listener, stored[-1])] == stored
        for number in range(3):
            say(bob, f"bob carries on {number}", cleo)


def test_a_socket_over_the_cap_is_closed_with_its_own_code(stack):
    """A user holds at most CHAT_MAX_SOCKETS_PER_USER chat sockets; the next one is told so and closed."""
    _, client, course = enrolled_student(stack, "tabs")
    _, classmate_client, _ = enrolled_student(stack, "classmate")
    with contextlib.ExitStack() as open_sockets:
        sockets = [open_sockets.enter_context(stack.chat(course, client)) for _ in range(MAX_SOCKETS)]
        with stack.chat(course, client) as extra:
            closed = extra.read_until_closed().result()
            assert (closed.code, closed.frames) == (4029, [])
        # the user's open sockets, and a classmate's, work as before
        with stack.chat(course, classmate_client) as classmate:
            say(classmate, "hello, all of your tabs", *sockets)


REMOVE = """
import time
from django.contrib.auth import get_user_model
from courses.models import Course
course = Course.objects.get(pk={course})
course.students.remove(get_user_model().objects.get(username="{username}"))
print(time.time())
"""


def test_a_student_removed_from_the_course_stops_receiving_within_a_second(stack):
    """The removal reaches the student's open socket from another process (web), through Redis."""
    removed, removed_client, course = enrolled_student(stack, "removed")
    _, bob_client, _ = enrolled_student(stack, "stays")
    with stack.chat(course, removed_client) as socket, stack.chat(course, bob_client) as bob:
        say(bob, "before the removal", socket)
        closing = socket.read_until_closed()

        # As the admin's course form does (course.students), from the web container.
        output = stack.manage("shell", "-c", REMOVE.format(course=course, username=removed)).stdout
        removed_at = float(output.strip().splitlines()[-1])

        closed = closing.result()
        assert closed.code == 4003
        assert closed.json_frames() == [{"error": "You are no longer a member of this course."}]
        assert closed.closed_at - removed_at <= 1.0
        say(bob, "after the removal")
    assert refused_status(stack, course, removed_client) == 403


def test_signing_out_closes_that_browsers_socket_within_a_second(stack):
    """The sockets of the session that signed out close; the same user's other browser keeps chatting."""
    username, laptop, course = enrolled_student(stack, "signout")
    phone = signed_in(stack, username)
    with stack.chat(course, laptop) as on_laptop, stack.chat(course, phone) as on_phone:
        closing = on_laptop.read_until_closed()
        token = laptop.csrf_token()

        started = time.time()
        response = laptop.post(
            "/accounts/logout/",
            data={"csrfmiddlewaretoken": token},
            headers={"Referer": laptop.url("/")},
            allow_redirects=False,
        )

        assert response.status_code == 302
        closed = closing.result()
        assert closed.code == 4001
        assert closed.json_frames() == [{"error": "You have signed out."}]
        assert closed.closed_at - started <= 1.0
        say(on_phone, "still here on the phone")
    assert refused_status(stack, course, laptop) == 403
