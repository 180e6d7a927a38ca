"""Connect to PostgreSQL and Redis with the configured credentials, and say plainly why not.

The compose stack's migrate step runs this before anything else. Both
servers can end up with a password other than the application's:

* PostgreSQL stores its password in the data volume on the very first start
  and never reads POSTGRES_PASSWORD again, so a regenerated .env against an
  existing volume is refused;
* Redis reads REDIS_PASSWORD from its secret when its container is created,
  so a cache container that was not recreated after the change still expects
  the old one while the application sends the new one; and an .env written
  before Redis had an ACL user logs in without a user name, which Redis
  (its default user off) refuses too.

Either would otherwise surface as a long traceback from deep inside
``migrate`` (or as a site that quietly runs without its cache). Here it ends
in one line saying what happened and what to do, and a non-zero exit.

Redis being unreachable for any other reason is only reported: the site is
built to run through a cache outage, so that must not stop a deployment.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import OperationalError
from redis.exceptions import AuthenticationError

from educa import health

# Compose copies a secret into a container when it creates it, and does not
# notice that the value in .env changed: whatever is put back must reach the
# containers by recreating them.
RECREATE = "recreate the containers (`up --force-recreate`, bin/up --force-recreate in development)"
START_OVER = "start over with `docker compose down -v`, which deletes all the data"


def one_line(error):
    """The error's text on one line (psycopg's messages span several)."""
    text = "; ".join(line.strip() for line in str(error).splitlines() if line.strip())
    return text or error.__class__.__name__


def explain_database_error(error, settings_dict):
    """One line telling the operator why PostgreSQL refused the connection and what to do."""
    text = str(error)
    user = settings_dict.get("USER")
    name = settings_dict.get("NAME")
    where = f"{settings_dict.get('HOST') or 'localhost'}:{settings_dict.get('PORT') or 5432}"
    if "password authentication failed" in text:
        return (
            f'PostgreSQL at {where} refused the password of user "{user}": POSTGRES_PASSWORD (or '
            "POSTGRES_USER) is not the one the database was created with, which PostgreSQL keeps in "
            "its data volume and never takes from .env again. Put the previous POSTGRES_PASSWORD back "
            f"in .env and {RECREATE}, or {START_OVER}."
        )
    if f'database "{name}" does not exist' in text:
        return (
            f'PostgreSQL at {where} has no database "{name}": POSTGRES_DB is not the one the data '
            f"volume was created with. Put the previous POSTGRES_DB back in .env and {RECREATE}, "
            f"or {START_OVER}."
        )
    return f'cannot connect to PostgreSQL at {where} as "{user}": {one_line(error)}'


def explain_cache_error(error, username=None):
    """(fatal, one line) for a failed Redis round trip; ``username``: the ACL user logged in as."""
    if isinstance(error, AuthenticationError) and not username:
        return True, (
            "Redis refused a login without a user name: the stack's Redis has no default user, the "
            'application logs in as "educa". Set REDIS_URL=redis://educa@cache:6379 in .env '
            f"(rediss://educa@cache:6379 with docker-compose.tls.yml), then {RECREATE}."
        )
    if isinstance(error, AuthenticationError):
        return True, (
            f'Redis refused user "{username}" with REDIS_PASSWORD: the cache container still has '
            "the password it was created with, the application containers a newer one. Keep the new "
            f"one or put the previous one back in .env, then {RECREATE} so that all of them read it; "
            "Redis keeps no password in its data, so nothing is lost."
        )
    return False, (
        f"Redis is not reachable ({one_line(error)}); the site runs without its cache until it is."
    )


class Command(BaseCommand):
    help = (
        "Connect to the database and the cache with the configured credentials. A refused "
        "password ends in one line saying what to do and exit status 1."
    )
    # Runs before migrate: nothing here may depend on the schema.
    requires_system_checks = []

    def handle(self, *args, **options):
        self.check_database()
        self.check_cache()
        if options["verbosity"] >= 1:
            self.stdout.write("Database and cache accept the configured credentials.")

    def check_database(self):
        connection = connections[DEFAULT_DB_ALIAS]
        try:
            connection.ensure_connection()
        except OperationalError as error:
            raise CommandError(explain_database_error(error, connection.settings_dict)) from None
        finally:
            connection.close()

    def check_cache(self):
        try:
            health.check_cache()
        except Exception as error:  # any client's failure: judged below, never a traceback
            username = settings.CACHES["default"].get("OPTIONS", {}).get("username")
            fatal, message = explain_cache_error(error, username)
            if fatal:
                raise CommandError(message) from None
            self.stderr.write(f"warning: {message}")
