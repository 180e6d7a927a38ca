"""The course chat through NGINX, Daphne, Redis (channel layer) and PostgreSQL."""

import pytest
from websockets.exceptions import InvalidStatus

from tests.support.journeys import chat_round_trip, enrolled_student, load_demo_courses, new_student, say

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
