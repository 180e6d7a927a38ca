"""The scheduler service runs the enrolment reminder on its schedule (every five seconds in the tests)."""

import json

import pytest

from tests.support.journeys import unique_name
from tests.support.system import wait_until

pytestmark = pytest.mark.stack

FORGETFUL = """
from datetime import timedelta
from django.contrib.auth.models import User
from django.utils import timezone
user = User.objects.create_user({name!r}, {name!r} + "@example.com", "Forgetful-pw-1")
user.date_joined = timezone.now() - timedelta(days=8)
user.save()
"""


def finished_runs(stack):
    """The scheduler's "enroll_reminder finished" log records, oldest first."""
    records = []
    for line in stack.logs("scheduler", tail=2000).splitlines():
        _, _, text = line.partition("| ")
        if text.startswith("{") and "enroll_reminder finished" in text:
            records.append(json.loads(text))
    return records


def test_the_scheduler_reminds_a_user_who_never_enrolled_once(stack):
    [scheduler] = [c for c in stack.containers() if c["Service"] == "scheduler"]
    assert "healthy" in scheduler["Status"], scheduler["Status"]

    name = unique_name("forgetful")
    stack.manage("shell", "-c", FORGETFUL.format(name=name))
    address = f"To: {name}@example.com"
    wait_until(lambda: address in stack.logs("scheduler", tail=2000), 30, f"the reminder to {name} sent")
    runs = len(finished_runs(stack))
    wait_until(lambda: len(finished_runs(stack)) >= runs + 2, 30, "two more runs of the reminder")
    assert stack.logs("scheduler", tail=2000).count(address) == 1, "the user was reminded twice"

    last = finished_runs(stack)[-1]
    assert last["logger"] == "educa.schedule" and last["level"] == "INFO"
    assert last["message"].endswith("Sent 0 reminders.")
