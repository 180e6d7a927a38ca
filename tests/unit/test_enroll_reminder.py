"""The enroll_reminder command."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

pytestmark = [pytest.mark.unit, pytest.mark.django_db]


def joined(make_user, username, ago, **fields):
    user = make_user(username, **fields)
    user.date_joined = timezone.now() - ago
    user.save(update_fields=["date_joined"])
    return user


def remind(days):
    out = StringIO()
    call_command("enroll_reminder", f"--days={days}", stdout=out)
    return out.getvalue()


def recipients():
    return sorted(address for message in mail.outbox for address in message.to)


def test_only_old_unenrolled_users_with_an_address_are_reminded(make_user, make_course):
    joined(make_user, "old", timedelta(days=30))
    enrolled = joined(make_user, "enrolled", timedelta(days=30))
    make_course(students=[enrolled])
    joined(make_user, "recent", timedelta(days=2))
    joined(make_user, "noaddress", timedelta(days=30), email="")
    joined(make_user, "inactive", timedelta(days=30), is_active=False)

    output = remind(7)

    assert recipients() == ["old@example.com"]
    assert "Sent 1 reminder." in output
    message = mail.outbox[0]
    assert "enrol" in message.subject.lower()
    assert "Hi old" in message.body
    assert "https://educa.test/" in message.body


@pytest.mark.parametrize("time_zone", ["UTC", "Pacific/Kiritimati", "America/Adak"])
def test_the_boundary_is_exactly_n_days_whatever_the_time_zone(settings, make_user, time_zone):
    settings.TIME_ZONE = time_zone
    joined(make_user, "just-over", timedelta(days=3, minutes=1))
    joined(make_user, "just-under", timedelta(days=3) - timedelta(minutes=1))

    remind(3)

    assert recipients() == ["just-over@example.com"]


def test_every_candidate_gets_their_own_message(make_user):
    for name in ("ana", "bob", "eve"):
        joined(make_user, name, timedelta(days=10))

    output = remind(1)

    assert "Sent 3 reminders." in output
    assert [message.to for message in mail.outbox] == [
        ["ana@example.com"],
        ["bob@example.com"],
        ["eve@example.com"],
    ]


def test_nobody_to_remind_sends_nothing(make_user):
    joined(make_user, "recent", timedelta(hours=1))

    output = remind(1)

    assert mail.outbox == []
    assert "Sent 0 reminders." in output


@pytest.mark.parametrize("days", ["0", "-1", "abc", "1.5"])
def test_days_must_be_a_positive_integer(days, make_user):
    joined(make_user, "old", timedelta(days=30))

    with pytest.raises(CommandError, match="--days"):
        call_command("enroll_reminder", f"--days={days}")
    assert mail.outbox == []


def test_days_is_required():
    with pytest.raises(CommandError, match="--days"):
        call_command("enroll_reminder")


def test_each_user_is_reminded_once_however_often_it_runs(make_user):
    """The scheduler runs it daily: nobody gets the same reminder twice."""
    joined(make_user, "first", timedelta(days=30))
    assert "Sent 1 reminder." in remind(7)
    joined(make_user, "second", timedelta(days=30))
    assert "Sent 1 reminder." in remind(7)
    assert "Sent 0 reminders." in remind(7)
    assert recipients() == ["first@example.com", "second@example.com"]


def test_a_reminder_that_could_not_be_sent_is_tried_again(make_user, settings):
    joined(make_user, "unlucky", timedelta(days=30))
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1  # nothing listens there
    with pytest.raises(OSError):
        remind(7)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert "Sent 1 reminder." in remind(7)
    assert recipients() == ["unlucky@example.com"]
