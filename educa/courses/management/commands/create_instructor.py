"""Create an instructor: a user who may publish courses in the CMS."""

import getpass
import secrets
import sys

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from courses.instructors import ensure_instructor, ensure_subject


class Command(BaseCommand):
    help = (
        "Create an instructor (a user in the Instructors group). The password comes from --password, "
        "a prompt when run in a terminal, or is generated and printed once."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="", help="E-mail address (default: none).")
        parser.add_argument("--password", help="Password (default: ask in a terminal, else generate one).")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument(
            "--subject",
            action="append",
            default=[],
            metavar="SLUG=TITLE",
            help="Make sure this subject exists, so the instructor can file a course under it (repeatable).",
        )

    def handle(self, *args, username, email, password, first_name, last_name, subject, **options):
        generated = None
        if not password:
            if sys.stdin.isatty():
                password = self.ask_password(username)
            else:
                password = generated = secrets.token_urlsafe(12)
        try:
            user, created = ensure_instructor(
                username, password, email=email, first_name=first_name, last_name=last_name
            )
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
        for entry in subject:
            slug, _, title = entry.partition("=")
            ensure_subject(slug, title or None)
        verb = "created" if created else "updated (now an instructor, password changed)"
        self.stdout.write(self.style.SUCCESS(f"Instructor “{user.username}” {verb}."))
        if generated:
            self.stdout.write(f"Password (shown once): {generated}")

    def ask_password(self, username):
        first = getpass.getpass(f"Password for {username}: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("The two passwords differ.")
        if not first:
            raise CommandError("The password may not be empty.")
        return first
