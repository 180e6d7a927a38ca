"""Preparing and reconfiguring the benchmarked stack from outside.

Everything here goes through ``docker compose`` on the stack's own project
(the helpers of tests/support/stack.py) or through the site itself; nothing
in the application is edited for the benchmark.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from tests.support.journeys import DEMO_COURSE
from tests.support.system import REPO


def exit_unless_runnable(wrk=False):
    """Stop with what to install when no stack (or, with ``wrk``, no wrk) can run here."""
    from bench.http_load import WrkMissing, require_wrk
    from tests.support.prerequisites import stack_problem

    if wrk:
        try:
            require_wrk()
        except WrkMissing as error:
            sys.exit(str(error))
    problem = stack_problem()
    if problem:
        sys.exit(problem)


def other_containers(project):
    """Running containers that are not this stack's: they compete for the same cores."""
    names = subprocess.run(
        ["docker", "ps", "--format", "{{.Names}}"], capture_output=True, text=True, check=False
    ).stdout.split()
    return [name for name in names if not name.startswith(f"{project}-")]


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


@contextmanager
def benchmark_stack(healthcheck_interval=None, **overrides):
    """A production stack of the benchmark's own, removed with its volumes at the end.

    Also after an error, Ctrl-C or SIGTERM (which ends the run like Ctrl-C),
    and a second Ctrl-C during the teardown cannot leave it behind.
    ``overrides`` are settings for its env file (see tests.support.stack);
    ``healthcheck_interval`` (e.g. "30s") runs every healthcheck that often
    instead of as shipped.
    """
    from tests.support.stack import boot_stack

    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    workdir = Path(tempfile.mkdtemp(prefix="educa-bench-"))
    compose_files = ["docker-compose.yml"]
    if healthcheck_interval:
        compose_files.append(str(healthcheck_override(workdir, healthcheck_interval)))
        log(f"every healthcheck runs every {healthcheck_interval} (the stack takes longer to turn healthy)")
    stack = None
    try:
        stack = boot_stack(workdir, compose_files, **overrides)
        yield stack
    except KeyboardInterrupt:
        log("interrupted")
        raise SystemExit(130) from None
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if stack is not None:
            log(f"tearing down {stack.project} with its volumes")
            stack.remove()
        shutil.rmtree(workdir, ignore_errors=True)


def healthcheck_override(directory, interval):
    """Write a compose file that runs every healthcheck of docker-compose.yml each ``interval``.

    Each check is a process the engine starts in its container; at the
    shipped intervals (1 to 5 s) they cost a running stack a share of the
    cores it is measured on. Return the file's path.
    """
    import yaml

    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    override = {
        "services": {
            name: {"healthcheck": {"interval": interval}}
            for name, service in services.items()
            if "healthcheck" in service
        }
    }
    path = Path(directory) / "healthcheck-interval.compose.yml"
    path.write_text(json.dumps(override, indent=2))  # JSON is YAML
    return path


def compose_default(name):
    """The value docker-compose.yml gives the setting ``name`` when the operator sets nothing."""
    compose = (REPO / "docker-compose.yml").read_text()
    found = re.search(rf"{name}: \$\{{{name}:-([^}}]+)\}}", compose)
    if found is None:
        raise LookupError(f"no default for {name} in docker-compose.yml")
    return found[1]


# The load generators are one address, and NGINX caps the requests (and
# sockets) in progress per address at NGINX_CONN_PER_ADDRESS (200 by
# default): past it, by design, their excess connections are answered 429.
# That cap is an abuse defence with tests of its own (tests/stack/
# test_abuse_limits.py); a benchmark of many clients from one address lifts it.
ONE_ADDRESS_MANY_CLIENTS = {"NGINX_CONN_PER_ADDRESS": "5000"}


def production_uwsgi_defaults():
    """(workers, threads) of uWSGI in production when the operator sets nothing."""
    return int(compose_default("UWSGI_WORKERS")), int(compose_default("UWSGI_THREADS"))


def production_uwsgi_settings():
    """uWSGI's production defaults as env settings: the test stacks use smaller ones."""
    names = ("UWSGI_WORKERS", "UWSGI_THREADS", "UWSGI_MAX_REQUESTS", "UWSGI_MAX_REQUESTS_DELTA")
    return {name: compose_default(name) for name in names}


def reconfigure(stack, services, **changes):
    """Recreate only ``services`` with changed settings; a value of None removes a setting.

    The env file is the one the stack was booted with, so everything else
    (secrets, database, Redis) stays as it is; ``--no-deps`` keeps compose
    from touching the other services.
    """
    for name, value in changes.items():
        if value is None:
            stack.env.pop(name, None)
        else:
            stack.env[name] = str(value)
    stack.write_env()
    stack.compose("up", "-d", "--wait", "--no-deps", *services)
    stack.wait_ready()


def reconfigure_web(stack, **changes):
    """Recreate only the web service with changed settings (see ``reconfigure``)."""
    reconfigure(stack, ("web",), **changes)


def uwsgi_stats(stack):
    """What uWSGI is really running, from its stats socket: workers, threads, respawns so far.

    Respawns count worker recycling (max-requests, reload-on-rss) as well as
    crashes; a recycled worker loads Django again, which shows in tail latency.
    """
    workers = stack.uwsgi_workers()
    return {
        "workers": len(workers),
        "threads": max(len(worker["cores"]) for worker in workers),
        "respawns": sum(worker["respawn_count"] for worker in workers),
    }


def _redis_cli(stack, *args):
    # REDISCLI_AUTH keeps the password off the command line, as the healthcheck does
    database = stack.env.get("REDIS_CACHE_DB", "0")
    quoted = " ".join(f"'{arg}'" for arg in args)
    return stack.exec(
        "cache", "sh", "-c", f'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -n {database} {quoted}'
    ).stdout


def flush_cache(stack):
    """Empty Redis' cache database (the channel layer's database is left alone)."""
    _redis_cli(stack, "FLUSHDB")


def cached_entries(stack):
    """How many cached values (not version counters) Redis' cache database holds.

    Keys look like ``educa:1:catalogue:courses:all`` or
    ``educa:1:course:7:modules`` (``courses.cache``); the version counters
    are those ending in ``:version``. Other users of the database (the API's
    throttles, for one) are not counted.
    """
    keys = _redis_cli(stack, "--scan", "--pattern", "educa:*").split()
    return sum(
        key.split(":")[2] in ("catalogue", "course", "permissions") and not key.endswith(":version")
        for key in keys
        if key.count(":") >= 3
    )


EXTRA_COURSES = """
from django.contrib.auth import get_user_model
from courses.models import Content, Course, Module, Subject, Text

owner, _ = get_user_model().objects.get_or_create(username="bench-instructor")
subjects = list(Subject.objects.order_by("pk"))
for number in range({count}):
    course, created = Course.objects.get_or_create(
        slug=f"bench-course-{{number}}",
        defaults=dict(
            owner=owner,
            subject=subjects[number % len(subjects)],
            title=f"Benchmark course {{number}}",
            overview="A course created for the benchmark, with a few modules of text.",
        ),
    )
    if not created:
        continue
    for module_number in range(3):
        module = Module.objects.create(course=course, title=f"Part {{module_number}}", description="Reading.")
        for lesson in range(2):
            text = Text.objects.create(owner=owner, title=f"Lesson {{lesson}}", content="Some text. " * 40)
            Content.objects.create(module=module, item=text)
print(Course.objects.count())
"""


def seed_courses(stack, extra_courses):
    """The demo courses plus ``extra_courses`` more, so the catalogue is not a toy; return the total."""
    stack.manage("load_demo_data")
    output = stack.manage("shell", "-c", EXTRA_COURSES.format(count=extra_courses)).stdout
    return int(output.strip().splitlines()[-1])


def enrolled_students(stack, count, password, prefix, slug=DEMO_COURSE):
    """Register ``count`` students through the site and enrol them; return (sessions, course id)."""

    def one(number):
        session = stack.client()
        session.register(f"{prefix}-{number}", password)
        return session, session.enrol(slug)

    # a few at a time: registration hashes a password, which is CPU-bound on the server
    with ThreadPoolExecutor(max_workers=4) as pool:
        signed_up = list(pool.map(one, range(count)))
    return [session for session, _ in signed_up], signed_up[0][1]


def cookie_header(session):
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in session.cookies)


def count_chat_rows(stack, tag):
    """Rows of chat_message written by one chat load (its messages carry the run's tag)."""
    # the tag is made by the benchmark itself (a label and hex digits), never user input
    if not re.fullmatch(r"[a-z]+-[0-9a-f]+", tag):
        raise ValueError(f"unexpected chat load tag {tag!r}")
    sql = f"select count(*) from chat_message where content like 'bench {tag} %'"  # noqa: S608
    return int(stack.psql(sql))
