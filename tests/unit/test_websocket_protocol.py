"""docs/websocket.md describes what the chat consumer does: every documented exchange is replayed here."""

import json
import re
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DatabaseError

from chat import consumers, signals
from chat.consumers import ChatConsumer
from chat.models import Message
from tests.support.consumers import joined, site_communicator

pytestmark = [pytest.mark.unit, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[2]
DOC = (REPO / "docs" / "websocket.md").read_text()
CHAT_JS = (REPO / "educa" / "static" / "js" / "chat.js").read_text()


def table(heading):
    """The rows (lists of cells, header and rule left out) of the first table under ``heading``."""
    section = DOC.split(f"\n{heading}\n", 1)[1]
    lines = [line for line in section.split("\n\n#", 1)[0].splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[2:]]


def code_spans(cell):
    return re.findall(r"`([^`]+)`", cell)


@pytest.fixture
def student(make_user):
    return make_user("ana")


@pytest.fixture
def course(make_course, student):
    return make_course("Django deep dive", students=[student])


def test_the_close_codes_documented_are_those_the_server_and_the_page_use():
    documented = {int(row[0]) for row in table("## Close codes")}
    server = {value for name, value in vars(consumers).items() if name.startswith("CLOSE_")}
    page = {int(code) for code in re.findall(r"var CLOSE_\w+ = (\d+);", CHAT_JS)}

    assert documented == server == page


def test_a_broadcast_message_has_exactly_the_documented_keys(course, student):
    documented = [row[0].strip("`") for row in table("### From the server")]

    async def exchange():
        ana = await joined(student, course.pk)
        await ana.send_json_to({"message": "  Hello, everyone  "})
        received = await ana.receive_json_from()
        await ana.disconnect()
        return received

    received = _run(exchange)
    assert list(received) == documented
    assert received["message"] == "Hello, everyone" and received["user"] == "ana"


def _run(coroutine_function):
    from asgiref.sync import async_to_sync

    return async_to_sync(coroutine_function)()


def frame_for(cell):
    """What to send for a documented row: (text, bytes)."""
    spans = code_spans(cell)
    if cell.startswith("`"):
        return spans[0], None
    if cell == "a binary frame":
        return None, b'{"message": "hi"}'
    return json.dumps({"message": "x" if "CHAT_MESSAGE_MAX_LENGTH" not in cell else "x" * 2001}), None


async def spend_the_burst(socket, refused=0):
    """Send a burst of messages (each echoed), then ``refused`` more (each answered "too fast")."""
    for number in range(settings.CHAT_RATE_BURST):
        await socket.send_json_to({"message": f"burst {number}"})
        assert (await socket.receive_json_from())["message"] == f"burst {number}"
    for _ in range(refused):
        await socket.send_json_to({"message": "one more"})
        assert await socket.receive_json_from() == {"error": consumers.TOO_FAST}


@pytest.mark.parametrize("row", table("### Errors"), ids=lambda row: row[0])
def test_every_documented_error_is_what_the_server_answers(row, course, student, make_course, monkeypatch):
    sent, answer = row
    answers = code_spans(answer)
    # "no answer: the socket is closed with ...": a close and nothing before it
    expected = json.loads(answers[0]) if answers else None
    text, data = frame_for(sent)
    if "database" in sent:

        async def failing_save(self, *args):
            raise DatabaseError("database is gone")

        monkeypatch.setattr(ChatConsumer, "save_message", failing_save)
    if "after leaving the course" in sent:
        # the server's own close (tested below) would come first otherwise
        monkeypatch.setattr(signals, "_send", lambda group, event: None)
    if "in another room" in sent:
        elsewhere = make_course("Rust for beginners", students=[student])
        Message.objects.create(
            user=student, course=elsewhere, content="there", client_key=json.loads(text)["key"]
        )
    over_rate = "CHAT_RATE_BURST" in sent
    if over_rate:
        # no token comes back while the test runs, however slow the machine
        monkeypatch.setattr(ChatConsumer, "clock", staticmethod(lambda: 0.0))
    assert settings.CHAT_MESSAGE_MAX_LENGTH == 2000, "the documented answer names the default limit"
    assert settings.CHAT_RATE_BURST == 10, "the documented rows name the default burst"

    async def exchange():
        ana = await joined(student, course.pk)
        if "after leaving the course" in sent:
            await database_sync_to_async(course.students.remove)(student)
        if over_rate:
            await spend_the_burst(ana, refused=settings.CHAT_RATE_BURST if "another" in sent else 0)
        await ana.send_to(text_data=text, bytes_data=data)
        received = await ana.receive_json_from() if expected is not None else None
        closed = None
        if "closed with" in answer:
            closed = await ana.receive_output()
        else:
            assert await ana.receive_nothing(), "the socket should stay open and quiet"
        await ana.disconnect()
        return received, closed

    received, closed = _run(exchange)
    assert received == expected
    if closed is not None:
        code = int(re.search(r"closed with (\d+)", answer)[1])
        assert closed == {"type": "websocket.close", "code": code}


@pytest.mark.parametrize("row", table("### Closed by the server at once"), ids=lambda row: row[0][:30])
def test_every_documented_close_by_the_server_is_what_the_socket_gets(row, client, course, student):
    change, answer = row
    expected = json.loads(code_spans(answer)[0])
    code = int(re.search(r"closes them with (\d+)", answer)[1])
    client.force_login(student)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"

    async def exchange():
        ana = site_communicator(f"/ws/chat/room/{course.pk}/", cookie)
        connected, _ = await ana.connect()
        assert connected
        if "leaves the course" in change:
            await database_sync_to_async(course.students.remove)(student)
        elif "signs out" in change:
            await database_sync_to_async(client.logout)()
        else:
            raise AssertionError(f"no way to make this change: {change}")
        received = await ana.receive_json_from()
        closed = await ana.receive_output()
        await ana.disconnect()
        return received, closed

    received, closed = _run(exchange)
    assert received == expected
    assert closed == {"type": "websocket.close", "code": code}


def test_the_documented_limits_are_the_settings_defaults():
    base = (REPO / "educa" / "educa" / "settings" / "base.py").read_text()
    for name, default, _ in table("## Limits"):
        name = name.strip("`")
        assert re.search(rf'{name} = config\("{name}", default={default}, cast=(int|float)\)', base), name
