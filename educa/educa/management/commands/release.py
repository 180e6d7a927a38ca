"""The release step of a deployment, in one process: what must pass before the new code serves.

    python manage.py release

In order, stopping at the first failure:

1. ``check_services``: PostgreSQL and Redis accept the configured credentials;
2. ``check --deploy`` with warnings as errors: no unsafe production setting;
3. ``migrate``;
4. ``collectstatic``;

and then records this image's release as finished (``educa.release``), which
new web and Daphne tasks on Swarm wait for. The compose stack's one-shot
``migrate`` service runs it before web and Daphne start; Swarm's ``migrate``
job, beside them. Running the four commands as four ``manage.py`` invocations
costs a Python and Django start-up each (about a second apiece on a small
machine), which every deploy and every boot waits for; here Django starts
once.
"""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from educa.release import record_release


class Command(BaseCommand):
    help = "Check the services and the deployment settings, migrate and collect static files."

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        call_command("check_services", verbosity=verbosity)
        call_command("check", deploy=True, fail_level="WARNING", verbosity=verbosity)
        call_command("migrate", interactive=False, verbosity=verbosity)
        call_command("collectstatic", interactive=False, verbosity=verbosity)
        release_id = record_release()
        if release_id is not None and verbosity:
            self.stdout.write(f"release {release_id} recorded")
