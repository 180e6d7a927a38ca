"""Wait until the release step of this image's version has finished (educa.release says why).

    python manage.py wait_for_release [--timeout SECONDS]

Exits 0 as soon as the release recorded in the static volume is this image's
(at once when it already is), 1 after the timeout, saying which release it
found. On Swarm, web and Daphne run it before they start serving.
"""

import time

from django.core.management.base import BaseCommand, CommandError

from educa.release import image_release_id, record_path, recorded_release_id


class Command(BaseCommand):
    help = "Wait until the release step (migrations, static files) of this image has run."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=600, help="seconds to wait (default 600)")
        parser.add_argument("--interval", type=float, default=1, help="seconds between looks (default 1)")

    def handle(self, *args, timeout, interval, **options):
        wanted = image_release_id()
        if wanted is None:
            raise CommandError("this image has no release id (RELEASE_ID_FILE); nothing to wait for")
        deadline = time.monotonic() + timeout
        said = False
        while (found := recorded_release_id()) != wanted:
            if time.monotonic() >= deadline:
                raise CommandError(
                    f"the release step of {wanted} did not finish within {timeout:g}s "
                    f"({record_path()} holds {found or 'nothing'}); is the migrate job failing?"
                )
            if not said:
                self.stdout.write(f"waiting for the release step of {wanted} (found {found or 'none'})")
                said = True
            time.sleep(interval)
        self.stdout.write(f"release {wanted} is in place")
