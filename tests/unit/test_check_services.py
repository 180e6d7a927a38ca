"""check_services: a password the servers no longer accept ends in one line, not a traceback."""

import subprocess
import sys
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db.utils import OperationalError
from redis.exceptions import AuthenticationError
from redis.exceptions import ConnectionError as RedisConnectionError

from educa.management.commands.check_services import explain_cache_error, explain_database_error
from tests.support.settings import PROD_ENV, clean_environment
from tests.support.system import MANAGE, PROJECT_DIR, free_port

pytestmark = pytest.mark.unit

DATABASE = {"NAME": "educa", "USER": "educa", "HOST": "db", "PORT": 5432}

# psycopg's text for the cases below, as a PostgreSQL 17 server words them
WRONG_PASSWORD = (
    'connection failed: connection to server at "172.18.0.2", port 5432 failed: '
    'FATAL:  password authentication failed for user "educa"'
)
NO_DATABASE = (
    'connection failed: connection to server at "172.18.0.2", port 5432 failed: '
    'FATAL:  database "educa" does not exist'
)
REFUSED = (
    'connection failed: connection to server at "172.18.0.2", port 5432 failed: Connection refused\n'
    "\tIs the server running on that host and accepting TCP/IP connections?"
)


def test_a_refused_database_password_says_what_happened_and_both_ways_out():
    message = explain_database_error(OperationalError(WRONG_PASSWORD), DATABASE)
    assert "\n" not in message
    assert 'refused the password of user "educa"' in message
    assert "POSTGRES_PASSWORD" in message and "data volume" in message
    assert "previous POSTGRES_PASSWORD back in .env and recreate the containers" in message
    assert "--force-recreate" in message
    assert "`docker compose down -v`, which deletes all the data" in message


def test_a_missing_database_names_postgres_db():
    message = explain_database_error(OperationalError(NO_DATABASE), DATABASE)
    assert "\n" not in message
    assert 'no database "educa"' in message and "POSTGRES_DB" in message
    assert "docker compose down -v" in message


def test_any_other_database_failure_is_one_line_with_the_server_s_words():
    message = explain_database_error(OperationalError(REFUSED), DATABASE)
    assert "\n" not in message
    assert message.startswith('cannot connect to PostgreSQL at db:5432 as "educa": ')
    assert "Connection refused; Is the server running" in message


def test_a_refused_redis_password_stops_and_says_how_to_recover():
    fatal, message = explain_cache_error(
        AuthenticationError("invalid username-password pair or user is disabled."), "educa"
    )
    assert fatal
    assert "\n" not in message
    assert 'Redis refused user "educa" with REDIS_PASSWORD' in message
    assert "recreate the containers" in message and "--force-recreate" in message
    assert "nothing is lost" in message


def test_a_login_without_a_redis_user_names_the_setting_to_change():
    """An .env from before Redis had an ACL user (REDIS_URL=redis://cache:6379) says what to write."""
    fatal, message = explain_cache_error(
        AuthenticationError("invalid username-password pair or user is disabled.")
    )
    assert fatal
    assert "\n" not in message
    assert "Set REDIS_URL=redis://educa@cache:6379 in .env" in message


def test_an_unreachable_redis_only_warns():
    fatal, message = explain_cache_error(RedisConnectionError("Error -2 connecting to cache:6379."))
    assert not fatal
    assert "Error -2 connecting to cache:6379." in message


@pytest.mark.django_db
def test_the_command_passes_when_both_answer():
    out = StringIO()
    call_command("check_services", stdout=out)
    assert "accept the configured credentials" in out.getvalue()


@pytest.mark.django_db
def test_the_command_turns_a_refused_password_into_a_command_error():
    with (
        mock.patch(
            "django.db.backends.base.base.BaseDatabaseWrapper.ensure_connection",
            side_effect=OperationalError(WRONG_PASSWORD),
        ),
        pytest.raises(CommandError, match="refused the password") as raised,
    ):
        call_command("check_services")
    assert raised.value.__cause__ is None  # no chained traceback to print


@pytest.mark.django_db
def test_the_command_stops_on_redis_authentication_but_not_on_an_outage():
    with (
        mock.patch(
            "django.core.cache.backends.locmem.LocMemCache.set",
            side_effect=AuthenticationError("invalid username-password pair or user is disabled."),
        ),
        pytest.raises(CommandError, match="Redis refused a login without a user name"),
    ):
        call_command("check_services")

    err = StringIO()
    outage = RedisConnectionError("down")
    with mock.patch("django.core.cache.backends.locmem.LocMemCache.set", side_effect=outage):
        call_command("check_services", stdout=StringIO(), stderr=err)
    assert err.getvalue().startswith("warning: Redis is not reachable (down)")


def test_an_unreachable_database_is_one_line_on_stderr_from_manage_py():
    """The real thing, with production settings: no traceback, exit status 1."""
    env = clean_environment(
        **PROD_ENV
        | {
            "POSTGRES_HOST": "127.0.0.1",
            "POSTGRES_PORT": str(free_port()),  # nothing listens there
            "REDIS_URL": f"redis://127.0.0.1:{free_port()}",
        }
    )
    result = subprocess.run(
        [sys.executable, str(MANAGE), "check_services"],
        env=env,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("CommandError: cannot connect to PostgreSQL at 127.0.0.1:")
