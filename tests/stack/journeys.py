"""User journeys shared by the stack tests that boot different stacks.

Plain functions (not tests): each drives a running stack from outside, the
way a student's browser would, and asserts what that student would see.
"""

import json
import secrets

from tests.stack_support import chat_socket, enroll, receive_json, register_student

DEMO_COURSE = "python-from-scratch"
PASSWORD = "Stack-test-" + secrets.token_hex(8)


def unique_name(prefix):
    """A username no other test (or earlier run on the same stack) has taken."""
    return f"{prefix}-{secrets.token_hex(4)}"


def load_demo_courses(stack):
    """Create the demo courses (idempotent; an existing instructor keeps their password)."""
    stack.manage("load_demo_data")


def enrolled_student(stack, prefix, slug=DEMO_COURSE):
    """Register a new student and enrol them; return (username, session, course id)."""
    username = unique_name(prefix)
    session = register_student(stack, username, PASSWORD)
    course = enroll(session, stack, slug)
    return username, session, course


def chat_round_trip(stack, slug=DEMO_COURSE):
    """Two enrolled students talk in their course's chat, both ways.

    Returns the texts sent, so the caller can look for them elsewhere
    (the database, the room's history).
    """
    ana, ana_session, course = enrolled_student(stack, "ana", slug)
    bob, bob_session, _ = enrolled_student(stack, "bob", slug)
    from_ana = f"Hello Bob, this is {ana}"
    from_bob = f"Hi Ana, {bob} here"
    with (
        chat_socket(stack, course, ana_session) as ana_socket,
        chat_socket(stack, course, bob_session) as bob_socket,
    ):
        ana_socket.send(json.dumps({"message": from_ana}))
        # the sender sees their own message too: it is echoed once it is stored
        for socket in (ana_socket, bob_socket):
            received = receive_json(socket)
            assert (received["user"], received["message"]) == (ana, from_ana)
        bob_socket.send(json.dumps({"message": from_bob}))
        for socket in (bob_socket, ana_socket):
            received = receive_json(socket)
            assert (received["user"], received["message"]) == (bob, from_bob)
    return {"course": course, "session": ana_session, "username": ana, "messages": (from_ana, from_bob)}


def instructor_with_module(stack, prefix="teacher"):
    """A new instructor owning a course with one empty module; return (username, course slug, module id).

    Made with a management command rather than the CMS forms: the tests using
    it are about what happens to contents, not about building a course.
    """
    username = unique_name(prefix)
    email = f"{username}@example.com"
    code = "; ".join(
        [
            "from django.contrib.auth.models import Group, User",
            "from courses.models import Course, Module, Subject",
            f"user = User.objects.create_user({username!r}, {email!r}, {PASSWORD!r})",
            "user.groups.add(Group.objects.get(name='Instructors'))",
            "subject = Subject.objects.get_or_create(slug='programming', defaults={'title': 'Programming'})",
            "name = user.username",
            "course = Course.objects.create(owner=user, subject=subject[0], title=name, slug=name)",
            "print(Module.objects.create(course=course, title='Handouts').pk)",
        ]
    )
    module = int(stack.manage("shell", "-c", code).stdout.strip().splitlines()[-1])
    return username, username, module
