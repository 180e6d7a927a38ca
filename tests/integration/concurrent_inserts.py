"""Many writers numbering rows of the same group at the same moment.

Run by the integration tests as its own process with production settings:

    python concurrent_inserts.py modules 20    # 20 modules into one new course
    python concurrent_inserts.py contents 20   # 20 contents into one new module
    python concurrent_inserts.py chat-key 20   # one chat message key sent 20 times at once

Each thread has its own database connection, waits at a barrier and then saves
one row without an explicit order, so the OrderField of every row is computed
while the others are being written. Prints one JSON line with the id of the
group and the errors met; the tests read the orders from the database.
"""

import json
import sys
import threading
import uuid

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connections  # noqa: E402

from courses.models import Content, Course, Module, Subject, Text  # noqa: E402


def new_course():
    tag = uuid.uuid4().hex[:8]
    owner = get_user_model().objects.create_user(f"concurrency-{tag}", password=uuid.uuid4().hex)
    subject, _ = Subject.objects.get_or_create(slug="concurrency", defaults={"title": "Concurrency"})
    return Course.objects.create(
        owner=owner, subject=subject, title=f"Concurrency {tag}", slug=f"concurrency-{tag}", overview="-"
    )


def run_together(count, work):
    """Run ``work(i)`` in ``count`` threads released at the same instant; return the errors."""
    barrier = threading.Barrier(count)
    errors = []

    def thread_main(i):
        try:
            work(i, barrier)
        except Exception as error:  # reported to the test, which fails on any
            errors.append(f"{type(error).__name__}: {error}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=thread_main, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def insert_modules(count):
    course = new_course()

    def work(i, barrier):
        barrier.wait()
        Module.objects.create(course_id=course.pk, title=f"Module {i}")

    return {"course": course.pk, "errors": run_together(count, work)}


def insert_contents(count):
    course = new_course()
    module = Module.objects.create(course=course, title="Crowded module")

    def work(i, barrier):
        # The item first, so only the contents race for their order.
        text = Text.objects.create(owner_id=course.owner_id, title=f"Text {i}", content=f"Text {i}")
        barrier.wait()
        Content.objects.create(module_id=module.pk, item=text)

    return {"module": module.pk, "errors": run_together(count, work)}


def send_one_chat_key(count):
    """One message sent with the same key by ``count`` sockets at once (a resend racing the original)."""
    from chat.consumers import store_message

    course = new_course()
    stored = []

    def work(i, barrier):
        barrier.wait()
        frame, created = store_message(course.owner, course, f"copy {i}", "raced-key")
        stored.append({"id": frame["id"], "created": created})

    return {"course": course.pk, "errors": run_together(count, work), "stored": stored}


if __name__ == "__main__":
    kind, count = sys.argv[1], int(sys.argv[2])
    result = {"modules": insert_modules, "contents": insert_contents, "chat-key": send_one_chat_key}[kind](
        count
    )
    print(json.dumps(result))
