"""E-mail a reminder to users who signed up some time ago but never enrolled.

Each user is reminded once: the reminders sent are recorded
(students.EnrollReminder), so the scheduler service can run this daily
without writing to the same people again.
"""

import argparse
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from students.models import EnrollReminder


def positive_int(value):
    """argparse type: an integer of at least 1, so a typo cannot e-mail everybody."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an integer") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {number}")
    return number


class Command(BaseCommand):
    help = (
        "Sends an e-mail reminder, once per user, to users who joined at least N days ago and are "
        "enrolled in no course."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=positive_int,
            required=True,
            help="Remind users who joined at least this many days ago.",
        )

    def handle(self, *args, days, **options):
        # An aware instant, compared with the aware date_joined: "N days ago"
        # then means the same moment whatever TIME_ZONE the server runs in.
        joined_before = timezone.now() - timedelta(days=days)
        users = (
            get_user_model()
            .objects.filter(is_active=True, date_joined__lte=joined_before)
            .exclude(email="")
            .filter(enroll_reminder__isnull=True)
            .annotate(course_count=Count("courses_joined"))
            .filter(course_count=0)
            .order_by("pk")
        )
        catalogue_url = f"https://{settings.SITE_DOMAIN}{reverse('course_list')}"
        users = list(users)
        emails = [self._reminder(user, catalogue_url) for user in users]
        # recorded only if the mail went out: a failure leaves them for the next run
        with transaction.atomic():
            EnrollReminder.objects.bulk_create([EnrollReminder(user=user) for user in users])
            sent = send_mass_mail(emails, fail_silently=False) if emails else 0
        self.stdout.write(f"Sent {sent} reminder{'s' if sent != 1 else ''}.")

    @staticmethod
    def _reminder(user, catalogue_url):
        subject = "Enrol in a course on educa"
        body = (
            f"Hi {user.get_short_name() or user.username},\n\n"
            "You signed up on educa but have not enrolled in a course yet. "
            f"Have a look at the catalogue and pick one:\n\n{catalogue_url}\n"
        )
        return subject, body, settings.DEFAULT_FROM_EMAIL, [user.email]
