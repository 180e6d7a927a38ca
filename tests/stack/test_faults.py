"""Faults in a running production stack, and how it recovers by itself.

Each test breaks one service the way it breaks in production — Redis and
PostgreSQL restarted, a uWSGI worker killed, the Daphne process crashing —
while users keep browsing and chatting, then checks that the site answered
throughout (a page or a quick 5xx, never a hang), that it recovered without
anyone's help, and that nothing written before the fault was lost.

The stack is this module's own (the faults would disturb other tests), and
the tests run in order on it. Every wait is bounded by a generous timeout and
fails with a message saying what never happened; recovery times are printed,
never asserted, because they depend on the machine.
"""

import json
import secrets
import subprocess
import threading
import time
from dataclasses import dataclass

import pytest
import requests
from websockets.exceptions import ConnectionClosed

from tests.support.journeys import DEMO_COURSE, PASSWORD, load_demo_courses, new_student, say, signed_in
from tests.support.stack import boot_stack
from tests.support.system import wait_until

pytestmark = pytest.mark.stack

# Every request made during a fault gives up after this long: a request that
# needs it has hung, which is the failure these tests look for.
REQUEST_TIMEOUT = 30
RECOVERY_TIMEOUT = 120


# --- The stack and its users ---------------------------------------------------


@pytest.fixture(scope="module")
def faulty_stack(tmp_path_factory):
    """A production stack of this module's own, removed with its volumes at the end."""
    running = boot_stack(tmp_path_factory.mktemp("faults"))
    yield running
    running.remove()


@dataclass
class Site:
    stack: object
    course: int
    instructor: requests.Session
    ana: str
    ana_session: requests.Session
    bob: str
    bob_session: requests.Session


@pytest.fixture(scope="module")
def site(faulty_stack):
    """The demo courses, their instructor, and two students enrolled in one of them."""
    load_demo_courses(faulty_stack, password=PASSWORD)
    instructor = signed_in(faulty_stack, "instructor")
    ana, ana_session = new_student(faulty_stack, "ana")
    bob, bob_session = new_student(faulty_stack, "bob")
    course = ana_session.enrol(DEMO_COURSE)
    bob_session.enrol(DEMO_COURSE)
    return Site(faulty_stack, course, instructor, ana, ana_session, bob, bob_session)


# --- What was written before the faults ------------------------------------------


class Ledger:
    """Rows written through the site before a fault, looked up again in PostgreSQL after it."""

    def __init__(self, stack):
        self.stack = stack
        self.entries = []

    def expect(self, what, sql):
        """Remember ``what`` and the query that counts it (exactly one row)."""
        assert self.count(sql) == 1, f"{what} was not written in the first place"
        self.entries.append((what, sql))

    def count(self, sql):
        return int(self.stack.psql(sql))

    def assert_nothing_lost(self):
        lost = [what for what, sql in self.entries if self.count(sql) != 1]
        assert not lost, f"written before a fault, missing from PostgreSQL after it: {lost}"
        return len(self.entries)


@pytest.fixture(scope="module")
def ledger(faulty_stack):
    return Ledger(faulty_stack)


# The ledger's queries are built from values these tests generated themselves
# (hex tokens), quoted as SQL literals: nothing from outside reaches them.


def sql_text(text):
    return "'" + text.replace("'", "''") + "'"


def message_sql(text):
    return f"select count(*) from chat_message where content = {sql_text(text)}"  # noqa: S608


# --- Users browsing in the background ----------------------------------------------


@dataclass
class Sample:
    path: str
    started: float
    elapsed: float
    status: int | None = None
    body: str = ""
    error: str | None = None


class Traffic:
    """Users loading pages in a loop, each in a thread of its own, while a fault happens.

    ``pages`` is a list of (path, client or None); a client is copied, because
    a requests session must not be shared between threads.
    Every request has REQUEST_TIMEOUT; what each one got is kept as a Sample.
    """

    def __init__(self, stack, pages, pause=0.2):
        self.stack = stack
        self.pages = pages
        self.pause = pause
        self.samples = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = []

    def __enter__(self):
        for path, session in self.pages:
            thread = threading.Thread(target=self.browse, args=(path, session), daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def __exit__(self, *exc_info):
        self.stopping.set()
        for thread in self.threads:
            thread.join(REQUEST_TIMEOUT + 10)
        assert not any(thread.is_alive() for thread in self.threads), "a browsing thread never returned"

    def browse(self, path, session):
        own = session.copy() if session is not None else self.stack.client()
        while not self.stopping.is_set():
            started = time.monotonic()
            sample = Sample(path, started, 0.0)
            try:
                response = own.get(path, timeout=REQUEST_TIMEOUT, allow_redirects=False)
                sample.status, sample.body = response.status_code, response.text
            except requests.RequestException as error:
                sample.error = f"{error.__class__.__name__}: {error}"
            sample.elapsed = time.monotonic() - started
            with self.lock:
                self.samples.append(sample)
            self.stopping.wait(self.pause)

    def since(self, moment, until=None):
        """Samples of the requests started at ``moment`` or later (and before ``until``)."""
        with self.lock:
            return [
                sample
                for sample in self.samples
                if sample.started >= moment and (until is None or sample.started < until)
            ]

    def wait_for_samples(self, moment, per_page, timeout=60):
        """Wait until every page was answered ``per_page`` times for requests made after ``moment``."""

        def enough():
            answered = self.since(moment)
            return all(
                sum(1 for sample in answered if sample.path == path) >= per_page for path, _ in self.pages
            )

        return wait_until(enough, timeout, f"{per_page} answers per page while the fault lasted")

    def assert_no_hang(self):
        hung = [sample for sample in self.samples if sample.error]
        assert not hung, "requests that got no answer:\n" + "\n".join(
            f"  {sample.path}: {sample.error} after {sample.elapsed:.1f}s" for sample in hung
        )

    def describe(self, samples=None):
        """``{path: "<count> x <status>, ..., slowest <seconds>"}``, for the printed report."""
        by_path = {}
        for sample in self.samples if samples is None else samples:
            by_path.setdefault(sample.path, []).append(sample)
        summary = {}
        for path, samples_of_path in by_path.items():
            counts = {}
            for sample in samples_of_path:
                key = sample.status if sample.error is None else "no answer"
                counts[key] = counts.get(key, 0) + 1
            slowest = max(sample.elapsed for sample in samples_of_path)
            answers = ", ".join(f"{count} x {status}" for status, count in counts.items())
            summary[path] = f"{answers}, slowest {slowest:.2f}s"
        return summary


def site_is_ready(stack):
    return stack.readiness()[0] == 200


# --- Chat ---------------------------------------------------------------------------


def chat_works(site, text):
    """Ana and Bob open new connections and both see Ana's ``text``."""
    with (
        site.stack.chat(site.course, site.ana_session) as ana,
        site.stack.chat(site.course, site.bob_session) as bob,
    ):
        say(ana, text, bob)
    return True


def fate_of(socket, expected_text, timeout=15):
    """What became of a connection opened before a fault, once ``expected_text`` was sent to the room.

    "closed (<code>)": the server dropped it, so the page's script reconnects;
    "still receiving": it survived the fault; "silent": open but deaf — a
    browser would never notice it has to reconnect.
    """
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            frame = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            if frame.get("message") == expected_text:
                return "still receiving"
    except ConnectionClosed as closed:
        return f"closed ({closed.rcvd.code if closed.rcvd else 'no close frame'})"
    except TimeoutError:
        pass
    return "silent"


def room_history(site, session):
    response = session.get(f"/chat/room/{site.course}/", timeout=REQUEST_TIMEOUT)
    assert response.status_code == 200, f"chat room answered {response.status_code}"
    return response.text


# --- Containers -------------------------------------------------------------------------


def container(stack, service):
    """``docker inspect`` of a service's container."""
    container_id = stack.compose("ps", "--all", "-q", service).stdout.strip()
    assert container_id, f"no container for {service}"
    result = subprocess.run(["docker", "inspect", container_id], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)[0]


def crash(stack, service):
    """Kill a service's main process with SIGKILL from outside its container, as the OOM killer would.

    The restart policy (unless-stopped) must then bring the container back.
    ``docker kill`` and ``docker stop`` count as a deliberate stop and are never
    restarted; from inside the container the kernel protects PID 1 from
    signals it has no handler for, SIGKILL included. Only a process in the
    host's PID namespace can kill it for real: a throwaway container of the
    same image with the host's PID namespace and only the KILL capability.
    """
    info = container(stack, service)
    pid = info["State"]["Pid"]
    assert info["State"]["Running"] and pid > 0, f"{service} is not running: {info['State']}"
    # fmt: off
    subprocess.run(
        [
            "docker", "run", "--rm", "--pid=host", "--userns=host", "--network=none",
            "--user=0", "--cap-drop=ALL", "--cap-add=KILL", "--entrypoint=sh",
            info["Image"], "-c", f"kill -KILL {pid}",
        ],
        capture_output=True, text=True, check=True, timeout=60,
    )
    # fmt: on
    return info


class DeathWatch:
    """Exit codes of a container's "die" events while the block runs (137: killed by SIGKILL).

    The engine keeps only a short backlog of events, so they are followed live.
    """

    def __init__(self, container_id):
        self.container_id = container_id
        self.exit_codes = []

    def __enter__(self):
        # fmt: off
        self.process = subprocess.Popen(
            [
                "docker", "events", "--filter", f"container={self.container_id}",
                "--filter", "event=die", "--format", "{{.Actor.Attributes.exitCode}}",
            ],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        # fmt: on
        time.sleep(1)  # let it subscribe before anything happens
        return self

    def __exit__(self, *exc_info):
        self.process.terminate()
        output, _ = self.process.communicate(timeout=30)
        self.exit_codes = output.split()


def uwsgi_workers(stack):
    """The uWSGI workers from the master's stats socket: [{"id", "pid", "status"}]."""
    return [{key: worker[key] for key in ("id", "pid", "status")} for worker in stack.uwsgi_workers()]


def report(fault, **facts):
    print(f"\n[fault: {fault}]")
    for name, value in facts.items():
        print(f"    {name.replace('_', ' ')}: {value}")


def seconds(value):
    return f"{value:.1f}s"


# --- The faults, in order ---------------------------------------------------------------


def test_cache_restart_keeps_pages_up_and_chat_reconnects(site, ledger):
    """Redis restarts while students browse and chat.

    Pages keep answering 200 throughout (served uncached while Redis is away);
    a chat connection from before the restart is dropped or keeps working —
    never left open and deaf — and new connections talk again once Redis is
    back. Messages sent before the restart stay in PostgreSQL and the history.
    """
    stack = site.stack
    before = f"before the cache restart {secrets.token_hex(3)}"
    after = f"after the cache restart {secrets.token_hex(3)}"
    with (
        stack.chat(site.course, site.ana_session) as ana_old,
        stack.chat(site.course, site.bob_session) as bob_old,
    ):
        say(ana_old, before, bob_old)
        ledger.expect("a chat message sent before the cache restart", message_sql(before))

        pages = [("/", None), (f"/course/{DEMO_COURSE}/", None), ("/students/courses/", site.ana_session)]
        with Traffic(stack, pages) as traffic:
            traffic.wait_for_samples(time.monotonic(), per_page=2)
            # A bare restart of Redis takes about half a second, too short to
            # be sure any page was asked for meanwhile: it is held down until
            # every page has been answered a few times without it.
            stopped = time.monotonic()
            stack.compose("stop", "cache")
            down_since = time.monotonic()
            traffic.wait_for_samples(down_since, per_page=3)
            status, body = stack.readiness()
            assert status == 503 and "cache" in body.get("failing", []), (
                f"/readyz while Redis is down: {status} {body}"
            )
            started = time.monotonic()
            stack.compose("start", "cache")
            wait_until(lambda: site_is_ready(stack), RECOVERY_TIMEOUT, "/readyz 200 after Redis came back")
            ready_at = time.monotonic() - started
            wait_until(
                lambda: chat_works(site, after), RECOVERY_TIMEOUT, "a chat exchange after Redis came back"
            )
            chat_at = time.monotonic() - started
            traffic.wait_for_samples(time.monotonic(), per_page=2)

        old_socket = fate_of(bob_old, after)

    traffic.assert_no_hang()
    during = traffic.since(down_since, until=started)
    not_ok = [(s.path, s.status) for s in traffic.samples if s.status != 200]
    assert not not_ok, f"pages that did not answer 200 around the Redis restart: {not_ok}"
    assert old_socket != "silent", (
        "a chat connection opened before the Redis restart stayed open but received nothing: "
        "the page would never reconnect"
    )

    history = room_history(site, site.ana_session)
    assert before in history and after in history, "the room's history lost messages"
    kept = ledger.assert_nothing_lost()
    report(
        "cache (Redis) restart",
        redis_down_for=seconds(started - stopped),
        pages_answered_while_down=traffic.describe(during),
        readyz_200_after_start=seconds(ready_at),
        chat_working_after_start=seconds(chat_at),
        connection_from_before=old_socket,
        rows_from_before_faults_intact=kept,
    )


def test_database_restart_answers_quickly_and_loses_nothing(site, ledger):
    """PostgreSQL restarts while users browse.

    Every request gets an answer (a page, or a 503/5xx quickly) — none hangs
    and none is a 500; the site
    serves 200 again by itself; the course, enrolment and message written
    before the restart are all still there, and sessions survive.
    """
    stack = site.stack
    slug = f"faults-{secrets.token_hex(3)}"
    subject = stack.psql("select id from courses_subject order by id limit 1")
    created = site.instructor.post_form(
        "/course/create/",
        {
            "subject": subject,
            "title": f"Resilience {slug}",
            "slug": slug,
            "overview": "Written before a fault.",
        },
    )
    assert created.status_code == 302, f"course creation refused: {created.status_code}"
    ledger.expect(
        "a course created before the database restart",
        f"select count(*) from courses_course where slug = {sql_text(slug)}",  # noqa: S608
    )
    new_course = site.ana_session.enrol(slug)
    ledger.expect(
        "an enrolment made before the database restart",
        "select count(*) from courses_course_students cs join auth_user u on u.id = cs.user_id "  # noqa: S608
        f"where cs.course_id = {new_course} and u.username = {sql_text(site.ana)}",
    )
    before = f"before the database restart {secrets.token_hex(3)}"
    with stack.chat(site.course, site.ana_session) as ana:
        say(ana, before)
    ledger.expect("a chat message sent before the database restart", message_sql(before))

    pages = [
        ("/", None),
        (f"/course/{slug}/", None),
        ("/students/courses/", site.ana_session),
        (f"/chat/room/{site.course}/", site.ana_session),
        ("/course/mine/", site.instructor),
    ]
    with Traffic(stack, pages) as traffic:
        traffic.wait_for_samples(time.monotonic(), per_page=2)
        restarting = time.monotonic()
        stack.compose("restart", "db")
        restarted = time.monotonic()

        def every_page_back():
            latest = {sample.path: sample for sample in traffic.since(restarted)}
            return all(path in latest and latest[path].status == 200 for path, _ in pages)

        wait_until(
            every_page_back, RECOVERY_TIMEOUT, "every page answering 200 again after the database restart"
        )
        back_at = time.monotonic() - restarting
        traffic.wait_for_samples(time.monotonic(), per_page=2)

    traffic.assert_no_hang()
    statuses = {s.status for s in traffic.samples}
    assert statuses <= {200, 502, 503, 504}, (
        f"answers around the database restart: {traffic.describe()} (a 500 means an unhandled error)"
    )
    slowest = max(traffic.samples, key=lambda s: s.elapsed)
    wait_until(
        lambda: chat_works(site, f"after the database restart {secrets.token_hex(3)}"),
        RECOVERY_TIMEOUT,
        "a chat exchange after the database restart",
    )
    chat_at = time.monotonic() - restarting
    assert before in room_history(site, site.ana_session)
    kept = ledger.assert_nothing_lost()
    report(
        "db (PostgreSQL) restart",
        docker_compose_restart_took=seconds(restarted - restarting),
        every_page_200_again_after=seconds(back_at),
        chat_working_after=seconds(chat_at),
        answers=traffic.describe(),
        slowest_answer=f"{slowest.path} {slowest.status} in {seconds(slowest.elapsed)}",
        rows_from_before_faults_intact=kept,
    )


def test_killed_uwsgi_worker_is_respawned_and_the_site_keeps_serving(site, ledger):
    """A uWSGI worker dies (SIGKILL) under load: the master replaces it and pages keep coming."""
    stack = site.stack
    web_before = container(stack, "web")
    workers = uwsgi_workers(stack)
    assert len(workers) >= 2, f"uWSGI runs a single worker: {workers}"
    victim = workers[0]

    pages = [("/", None), (f"/course/{DEMO_COURSE}/", None), ("/students/courses/", site.ana_session)]
    with Traffic(stack, pages) as traffic:
        traffic.wait_for_samples(time.monotonic(), per_page=2)
        stack.exec("web", "sh", "-c", f"kill -9 {victim['pid']}")

        def replaced():
            worker = next(w for w in uwsgi_workers(stack) if w["id"] == victim["id"])
            return worker["pid"] != victim["pid"] and worker["status"] in ("idle", "busy")

        respawned_in = wait_until(replaced, RECOVERY_TIMEOUT, f"uWSGI worker {victim['id']} respawned")
        # the new worker loads Django lazily: give it requests to serve
        respawned = time.monotonic()
        traffic.wait_for_samples(respawned, per_page=3)

    traffic.assert_no_hang()
    failed = [s for s in traffic.samples if s.status != 200]
    # Only requests the killed worker was serving can be lost: at most one per thread.
    threads = int(stack.env["UWSGI_THREADS"])
    assert len(failed) <= threads, f"more failures than requests in flight: {traffic.describe()}"
    assert all(s.status == 200 for s in traffic.since(respawned)), (
        f"pages after the respawn: {traffic.describe(traffic.since(respawned))}"
    )
    web_after = container(stack, "web")
    assert web_after["Id"] == web_before["Id"]
    assert web_after["RestartCount"] == web_before["RestartCount"], "the whole web container restarted"
    kept = ledger.assert_nothing_lost()
    report(
        "uWSGI worker killed (SIGKILL)",
        worker=f"{victim['id']} (pid {victim['pid']})",
        respawned_after=seconds(respawned_in),
        answers=traffic.describe(),
        lost_in_flight_requests=len(failed),
        rows_from_before_faults_intact=kept,
    )


def test_crashed_daphne_is_restarted_and_chat_works_again(site, ledger):
    """The Daphne process is killed outright: its container comes back by itself and chat works again.

    Open chat connections are dropped (the page's script reconnects), pages
    served by uWSGI are unaffected, and messages from before the crash are
    kept in PostgreSQL and in the room's history.
    """
    stack = site.stack
    before = f"before the daphne crash {secrets.token_hex(3)}"
    after = f"after the daphne crash {secrets.token_hex(3)}"
    pages = [("/", None), (f"/course/{DEMO_COURSE}/", None)]
    with (
        stack.chat(site.course, site.ana_session) as ana_old,
        DeathWatch(container(stack, "daphne")["Id"]) as deaths,
    ):
        say(ana_old, before)
        ledger.expect("a chat message sent before the Daphne crash", message_sql(before))

        with Traffic(stack, pages) as traffic:
            traffic.wait_for_samples(time.monotonic(), per_page=2)
            info = crash(stack, "daphne")
            crashed = time.monotonic()
            wait_until(
                lambda: fate_of(ana_old, after, timeout=1).startswith("closed"),
                RECOVERY_TIMEOUT,
                "the chat connection dropped when Daphne died",
            )
            dropped_at = time.monotonic() - crashed

            def restarted_by_policy():
                state = container(stack, "daphne")
                return state["RestartCount"] > info["RestartCount"] and state["State"]["Running"]

            wait_until(
                restarted_by_policy, RECOVERY_TIMEOUT, "the daphne container restarted by its restart policy"
            )
            restarted_at = time.monotonic() - crashed
            wait_until(
                lambda: chat_works(site, after), RECOVERY_TIMEOUT, "a chat exchange after Daphne came back"
            )
            chat_at = time.monotonic() - crashed
            traffic.wait_for_samples(time.monotonic(), per_page=2)

    traffic.assert_no_hang()
    assert all(s.status == 200 for s in traffic.samples), (
        f"pages (served by uWSGI) while Daphne was down: {traffic.describe()}"
    )
    after_info = container(stack, "daphne")
    history = room_history(site, site.bob_session)
    assert before in history and after in history, "the room's history lost messages"
    kept = ledger.assert_nothing_lost()
    report(
        "daphne process killed (SIGKILL from the host, like the OOM killer)",
        exit_code_seen_by_docker=", ".join(deaths.exit_codes) or "not reported",
        restart_count=f"{info['RestartCount']} -> {after_info['RestartCount']}",
        open_connection_dropped_after=seconds(dropped_at),
        container_running_again_after=seconds(restarted_at),
        chat_working_after=seconds(chat_at),
        pages_meanwhile=traffic.describe(),
        rows_from_before_faults_intact=kept,
    )
