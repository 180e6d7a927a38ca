"""What students and instructors do on a running stack, for the tests that need it done.

Plain functions (not tests): each drives the stack from outside, the way a
student's browser would, and asserts what that person would see. Accounts
and courses that the tests only need to exist are made with the project's
own management commands (``create_instructor``, ``create_course``,
``load_demo_data``), the same ones the documentation shows operators.
"""

import json
import secrets
from dataclasses import dataclass

DEMO_COURSE = "python-from-scratch"
# the first text of the demo course's first module, as the player shows it
DEMO_FIRST_CONTENT = "Python reads almost like English."
PASSWORD = "Test-pass-" + secrets.token_hex(8)


def unique_name(prefix):
    """A username no other test (or earlier run on the same stack) has taken."""
    return f"{prefix}-{secrets.token_hex(4)}"


def load_demo_courses(stack, password=None):
    """Create the demo courses (idempotent); ``password`` sets the demo instructor's."""
    stack.manage("load_demo_data", *(["--password", password] if password else []))


def signed_in(stack, username, password=PASSWORD):
    client = stack.client()
    client.log_in(username, password)
    return client


def new_student(stack, prefix="student"):
    """Register a new student; return (username, signed-in client)."""
    username = unique_name(prefix)
    client = stack.client()
    client.register(username, PASSWORD)
    return username, client


def enrolled_student(stack, prefix, slug=DEMO_COURSE):
    """Register a new student and enrol them; return (username, client, course id)."""
    username, client = new_student(stack, prefix)
    return username, client, client.enrol(slug)


@dataclass
class InstructorCourse:
    username: str
    client: object
    course: int
    slug: str
    modules: list
    subject: int
    subject_slug: str


def instructor_with_course(stack, prefix="teacher", modules=("Handouts",), subject=None):
    """A new instructor, signed in, owning a new course with empty ``modules``."""
    username = unique_name(prefix)
    stack.manage("create_instructor", username, "--password", PASSWORD)
    made = json.loads(
        stack.manage(
            "create_course",
            "--owner",
            username,
            "--title",
            f"Course of {username}",
            "--slug",
            username,
            "--subject",
            subject or f"subject-{username}",
            *[argument for title in modules for argument in ("--module", title)],
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    return InstructorCourse(
        username=username,
        client=signed_in(stack, username),
        course=made["id"],
        slug=made["slug"],
        modules=made["modules"],
        subject=made["subject"]["id"],
        subject_slug=made["subject"]["slug"],
    )


def say(socket, text, *listeners):
    """Send ``text`` on ``socket``; the sender and every listener receive it once it is stored."""
    socket.send({"message": text})
    for listener in (socket, *listeners):
        received = listener.receive_json()
        assert received["message"] == text, f"expected {text!r}, got {received}"
    return text


def chat_round_trip(stack, slug=DEMO_COURSE):
    """Two enrolled students talk in their course's chat, both ways.

    Returns the texts sent, so the caller can look for them elsewhere
    (the database, the room's history).
    """
    ana, ana_client, course = enrolled_student(stack, "ana", slug)
    bob, bob_client, _ = enrolled_student(stack, "bob", slug)
    from_ana = f"Hello Bob, this is {ana}"
    from_bob = f"Hi Ana, {bob} here"
    with stack.chat(course, ana_client) as ana_socket, stack.chat(course, bob_client) as bob_socket:
        ana_socket.send({"message": from_ana})
        # the sender sees their own message too: it is echoed once it is stored
        for socket in (ana_socket, bob_socket):
            received = socket.receive_json()
            assert (received["user"], received["message"]) == (ana, from_ana)
        bob_socket.send({"message": from_bob})
        for socket in (bob_socket, ana_socket):
            received = socket.receive_json()
            assert (received["user"], received["message"]) == (bob, from_bob)
    return {"course": course, "client": ana_client, "username": ana, "messages": (from_ana, from_bob)}
