"""The chat room page, its history and the Message admin."""

import json
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from chat.models import Message

pytestmark = [pytest.mark.unit, pytest.mark.django_db]


@pytest.fixture
def student(make_user):
    return make_user("ana")


@pytest.fixture
def course(make_course, student):
    return make_course("Django deep dive", students=[student])


def room_url(course_id):
    return f"/chat/room/{course_id}/"


def say(course, user, content, minutes_ago):
    message = Message.objects.create(course=course, user=user, content=content)
    # sent_on is auto_now_add; set it afterwards to build a known timeline.
    Message.objects.filter(pk=message.pk).update(sent_on=timezone.now() - timedelta(minutes=minutes_ago))
    return message


def test_the_url_name_matches_the_contract(course):
    assert reverse("chat:course_chat_room", args=[course.pk]) == room_url(course.pk)


def test_anonymous_visitors_are_sent_to_login(client, course):
    response = client.get(room_url(course.pk))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_an_unknown_course_is_a_404(client, student):
    client.force_login(student)

    assert client.get(room_url(987654)).status_code == 404


def test_users_not_enrolled_are_forbidden(client, make_user, course):
    client.force_login(make_user("eve"))

    assert client.get(room_url(course.pk)).status_code == 403


def test_enrolled_students_and_the_owner_get_the_room(client, student, course):
    for user in (student, course.owner):
        client.force_login(user)
        response = client.get(room_url(course.pk))
        assert response.status_code == 200
        page = response.content.decode()
        for element_id in ("chat-messages", "chat-message-input", "chat-message-submit", "chat-status"):
            assert f'id="{element_id}"' in page


def test_the_page_tells_the_script_where_to_connect_and_the_limits(client, student, course):
    client.force_login(student)

    page = client.get(room_url(course.pk)).content.decode()

    config = json.loads(
        re.search(r'<script id="chat-config" type="application/json">(.*?)</script>', page)[1]
    )
    assert config == {
        "courseId": course.pk,
        "socketPath": f"/ws/chat/room/{course.pk}/",
        "username": "ana",
        "maxLength": settings.CHAT_MESSAGE_MAX_LENGTH,
        "rateBurst": settings.CHAT_RATE_BURST,
        "ratePerSecond": settings.CHAT_RATE_PER_SECOND,
    }
    assert f'maxlength="{settings.CHAT_MESSAGE_MAX_LENGTH}"' in page
    assert "js/chat.js" in page
    assert "css/chat.css" in page


def test_the_history_shows_the_latest_messages_oldest_first(client, settings, make_user, student, course):
    settings.CHAT_HISTORY_LENGTH = 3
    bob = make_user("bob")
    course.students.add(bob)
    for minutes_ago, text in [(50, "first"), (40, "second"), (30, "third"), (20, "fourth"), (10, "fifth")]:
        say(course, bob if minutes_ago == 20 else student, f"message {text}", minutes_ago)
    client.force_login(student)

    response = client.get(room_url(course.pk))

    assert [message.content for message in response.context["history"]] == [
        "message third",
        "message fourth",
        "message fifth",
    ]
    page = response.content.decode()
    assert "message second" not in page
    assert page.index("message third") < page.index("message fourth") < page.index("message fifth")


def test_the_history_belongs_to_this_course_only(client, make_course, student, course):
    other = make_course("Rust for beginners", students=[student])
    say(course, student, "about django", 5)
    say(other, student, "about rust", 5)
    client.force_login(student)

    page = client.get(room_url(course.pk)).content.decode()

    assert "about django" in page
    assert "about rust" not in page


def test_own_messages_are_marked(client, make_user, student, course):
    bob = make_user("bob")
    course.students.add(bob)
    mine = say(course, student, "mine", 2)
    theirs = say(course, bob, "theirs", 1)
    client.force_login(student)

    page = client.get(room_url(course.pk)).content.decode()

    assert f'class="message me" data-id="{mine.pk}"' in page
    assert f'class="message" data-id="{theirs.pk}"' in page


def test_an_empty_room_invites_the_first_message(client, student, course):
    client.force_login(student)

    assert "No messages yet" in client.get(room_url(course.pk)).content.decode()


def test_message_text_is_escaped_in_the_history(client, student, course):
    say(course, student, '<script>alert("x")</script><img src=x onerror=alert(1)>', 1)
    client.force_login(student)

    page = client.get(room_url(course.pk)).content.decode()

    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_the_chat_script_never_inserts_markup(settings):
    script = (settings.BASE_DIR / "static" / "js" / "chat.js").read_text()

    assert "innerHTML" not in script
    assert "insertAdjacentHTML" not in script
    assert "textContent" in script
    assert 'location.protocol === "https:" ? "wss:" : "ws:"' in script


def test_staff_can_browse_and_search_messages_in_the_admin(admin_client, student, course):
    say(course, student, "needle in the haystack", 1)
    say(course, student, "something else", 1)
    url = reverse("admin:chat_message_changelist")

    response = admin_client.get(url, {"q": "needle"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "needle in the haystack" in page
    assert "something else" not in page


def test_the_message_string_names_sender_and_course(student, course):
    message = say(course, student, "hi", 0)
    message.refresh_from_db()

    assert str(message).startswith("ana on Django deep dive at ")
