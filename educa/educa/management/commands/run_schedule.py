"""Run the periodic jobs on their schedules, in the foreground: the scheduler service's command.

    python manage.py run_schedule                 # until stopped
    python manage.py run_schedule --stop-after 2  # until two jobs have run (rehearsals, tests)

The jobs and their schedules are settings (SCHEDULES, from the SCHEDULE_*
variables): crontab expressions of five fields in TIME_ZONE, or six with
the seconds first; an empty schedule turns a job off. APScheduler (a
maintained scheduler) decides when; each job is a management command run in
this process, one at a time, and logged like everything else: its start, its
output, its end, or its failure with a traceback (which Sentry and the
error e-mails receive too). A run that comes due while another job runs
starts when that one ends, if that is within a minute, and is dropped
otherwise; runs missed while the service was down are not made up.

The service's healthcheck reads the heartbeat file, which the scheduler
touches every few seconds while it is alive.
"""

import io
import logging
import signal
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from apscheduler.executors.debug import DebugExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

logger = logging.getLogger("educa.schedule")

# in the container's own /tmp (a tmpfs nobody else shares), read by its healthcheck
HEARTBEAT = Path("/tmp/educa-scheduler-heartbeat")  # noqa: S108  # nosec B108
HEARTBEAT_SECONDS = 10


def trigger(variable, expression, time_zone):
    """The APScheduler trigger for a crontab ``expression``; stops naming ``variable`` when it is not one."""
    fields = expression.split()
    try:
        if len(fields) == 5:
            return CronTrigger.from_crontab(expression, timezone=time_zone)
        if len(fields) == 6:
            second, minute, hour, day, month, day_of_week = fields
            return CronTrigger(
                second=second, minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week,
                timezone=time_zone,
            )  # fmt: skip
    except ValueError as error:
        raise CommandError(f"{variable} is not a crontab schedule ({error}): {expression!r}") from None
    raise CommandError(
        f"{variable} must have five fields (minute hour day month weekday), or six with the seconds "
        f"first, got {expression!r}"
    )


def run_job(name, command):
    """Run one job's management command, logging its start, its output, and its end or failure."""
    close_old_connections()
    started = time.monotonic()
    logger.info("%s started", name)
    output = io.StringIO()
    try:
        call_command(*command, stdout=output, stderr=output)
    except Exception:  # logged with its traceback (and so sent to Sentry); the next run will come
        logger.exception("%s failed after %.1f s", name, time.monotonic() - started)
        return
    finally:
        close_old_connections()
    said = " ".join(output.getvalue().split())
    logger.info("%s finished in %.1f s: %s", name, time.monotonic() - started, said or "no output")


def heartbeat():
    HEARTBEAT.touch()


class Command(BaseCommand):
    help = "Run the periodic jobs (SCHEDULES in the settings) until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--stop-after", type=int, default=0, metavar="RUNS",
                            help="Stop once this many job runs have ended (0: never).")  # fmt: skip

    def handle(self, *args, stop_after, **options):
        # Jobs run one at a time, in the scheduler's own thread (DebugExecutor).
        scheduler = BackgroundScheduler(
            executors={"default": DebugExecutor()},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
            timezone=settings.TIME_ZONE,
        )
        jobs = 0
        for name, (variable, expression, command) in settings.SCHEDULES.items():
            if not expression.strip():
                logger.info("%s is off (%s is empty)", name, variable)
                continue
            job_trigger = trigger(variable, expression, settings.TIME_ZONE)
            scheduler.add_job(run_job, job_trigger, args=[name, command], id=name)
            jobs += 1
            first = job_trigger.get_next_fire_time(None, datetime.now(ZoneInfo(settings.TIME_ZONE)))
            logger.info("%s scheduled (%s = %r, %s); first run %s", name, variable, expression,
                        settings.TIME_ZONE, first.isoformat())  # fmt: skip
        if not jobs:
            raise CommandError("every schedule is empty: nothing to run (SCHEDULE_* in .env)")
        scheduler.add_job(heartbeat, IntervalTrigger(seconds=HEARTBEAT_SECONDS), id="heartbeat")
        heartbeat()

        stop = threading.Event()
        runs = 0

        def job_ended(event):
            nonlocal runs
            if event.job_id != "heartbeat":
                runs += 1
                if stop_after and runs >= stop_after:
                    stop.set()

        scheduler.add_listener(job_ended, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        # PID 1 of its container: without a handler SIGTERM would be ignored
        # and `docker compose stop` would wait for its SIGKILL
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signal_number, lambda *_: stop.set())
        scheduler.start()
        stop.wait()
        # lets a job that is running end first
        scheduler.shutdown(wait=True)
        logger.info("scheduler stopped after %d job run%s", runs, "" if runs == 1 else "s")
