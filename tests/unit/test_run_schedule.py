"""The scheduler service's command: jobs run on their crontab schedule, logged, and a bad schedule named.

Run as the service runs it, in a process of its own (the local settings on a
migrated SQLite file, e-mail to the console), with a schedule of every second.
"""

import subprocess
import sys

import pytest

from tests.support.settings import clean_environment
from tests.support.system import MANAGE

pytestmark = pytest.mark.unit

OLD_USER = """
from datetime import timedelta
from django.contrib.auth.models import User
from django.utils import timezone
user = User.objects.create_user("forgetful", "forgetful@example.com", "Forgetful-pw-1")
user.date_joined = timezone.now() - timedelta(days=8)
user.save()
"""


@pytest.fixture(scope="module")
def local_env(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("schedule")
    env = clean_environment(
        DJANGO_SETTINGS_MODULE="educa.settings.local", SQLITE_PATH=str(workdir / "db.sqlite3")
    )
    for args in (["migrate", "--noinput", "-v0"], ["shell", "-c", OLD_USER]):
        result = subprocess.run([sys.executable, str(MANAGE), *args], env=env, capture_output=True, text=True,
                                timeout=180)  # fmt: skip
        assert result.returncode == 0, result.stderr
    return env


def run_schedule(env, *args, **variables):
    return subprocess.run(
        [sys.executable, str(MANAGE), "run_schedule", *args], env={**env, **variables},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_a_job_runs_on_its_schedule_and_reminds_each_user_once(local_env):
    result = run_schedule(local_env, "--stop-after", "2", SCHEDULE_ENROLL_REMINDER="* * * * * *")
    assert result.returncode == 0, result.stderr
    log = result.stderr
    assert "enroll_reminder scheduled (SCHEDULE_ENROLL_REMINDER = '* * * * * *', UTC)" in log
    finished = [line for line in log.splitlines() if "enroll_reminder finished" in line]
    assert [line.rsplit(": ", 1)[1] for line in finished] == ["Sent 1 reminder.", "Sent 0 reminders."], log
    assert result.stdout.count("To: forgetful@example.com") == 1  # the console e-mail backend
    assert "scheduler stopped after 2 job runs" in log


@pytest.mark.parametrize(
    ("schedule", "said"),
    [
        ("every day", "SCHEDULE_ENROLL_REMINDER must have five fields"),
        ("0 25 * * *", "SCHEDULE_ENROLL_REMINDER is not a crontab schedule"),
        ("", "every schedule is empty: nothing to run"),
    ],
    ids=["not crontab", "no such hour", "off"],
)
def test_a_bad_schedule_is_refused_naming_the_variable(local_env, schedule, said):
    result = run_schedule(local_env, SCHEDULE_ENROLL_REMINDER=schedule)
    assert result.returncode == 1
    assert said in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
