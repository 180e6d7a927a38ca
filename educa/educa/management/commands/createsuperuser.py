"""Django's ``createsuperuser``, but never a silent no-op.

Django's command, run without a terminal (``docker compose exec -T``, a
script, CI), prints "Superuser creation skipped" and exits 0; with
``--noinput`` but no password it creates an administrator who cannot sign in.
Both end here in an error saying what to pass instead. With a terminal it
asks its questions exactly as Django's does.

This replaces Django's command because the ``educa`` app comes before
``django.contrib.auth`` in INSTALLED_APPS: the first app providing a command
name wins.
"""

from django.contrib.auth.management.commands import createsuperuser
from django.core.management.base import CommandError
from django.db import transaction

ACCOUNT = "DJANGO_SUPERUSER_USERNAME, DJANGO_SUPERUSER_EMAIL and DJANGO_SUPERUSER_PASSWORD"
WITH_DOCKER = (
    "with Docker: docker compose exec -T -e DJANGO_SUPERUSER_USERNAME=... -e DJANGO_SUPERUSER_EMAIL=... "
    "-e DJANGO_SUPERUSER_PASSWORD web python manage.py createsuperuser --noinput"
)
NO_TERMINAL = (
    "createsuperuser has no terminal to ask its questions in: run it in one, or pass --noinput "
    f"with the account in the environment: {ACCOUNT} ({WITH_DOCKER})."
)
NO_PASSWORD = (
    "DJANGO_SUPERUSER_PASSWORD is not set, and an administrator without a password could not sign "
    f"in: none was created. Set all of {ACCOUNT} in the environment ({WITH_DOCKER})."
)
NO_ACCOUNT = f"Without a terminal, set {ACCOUNT} in the environment ({WITH_DOCKER})."


def has_terminal(stream):
    """The test Django's own command applies (a stream without isatty counts as a terminal)."""
    return not hasattr(stream, "isatty") or stream.isatty()


class Command(createsuperuser.Command):
    help = (
        "Create an administrator (a superuser), asking in a terminal. Without one pass --noinput with "
        "DJANGO_SUPERUSER_USERNAME, DJANGO_SUPERUSER_EMAIL and DJANGO_SUPERUSER_PASSWORD in the "
        "environment; anything missing is an error (exit status 1), never a silent skip."
    )

    def handle(self, *args, **options):
        if options["interactive"]:
            # self.stdin is set by Django's execute() (sys.stdin unless a test passes one)
            if not has_terminal(self.stdin):
                raise CommandError(NO_TERMINAL)
            return super().handle(*args, **options)
        return self.handle_without_terminal(*args, **options)

    def handle_without_terminal(self, *args, **options):
        database = options["database"]
        users = self.UserModel._default_manager.db_manager(database)
        with transaction.atomic(using=database):
            known = set(users.filter(is_superuser=True).values_list("pk", flat=True))
            try:
                # Django says "created" itself; only this command knows whether it may
                super().handle(*args, **{**options, "verbosity": 0})
            except CommandError as error:
                if str(error).startswith("You must use --"):
                    raise CommandError(f"{error} {NO_ACCOUNT}") from None
                raise
            created = users.filter(is_superuser=True).exclude(pk__in=known)
            if any(not user.has_usable_password() for user in created):
                # raised inside the transaction: the account is not kept
                raise CommandError(NO_PASSWORD)
        if options["verbosity"] >= 1:
            self.stdout.write("Superuser created successfully.")
