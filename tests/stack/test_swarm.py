"""The stack on Docker Swarm: deployed, scaled, updated and rolled back while people use it.

One stack (docker-stack.yml, deployed by bin/swarm-deploy on a single-node
swarm) for the whole module; the tests run in order on it. While a client
asks for pages all the time and two students keep chatting, the stack is
scaled, a new application version is rolled out task by task, and a version
whose healthcheck fails is rolled back by Swarm itself. Every request must
be answered with a page, every chat message stored once and delivered to
both students, whose clients reconnect by themselves when their Daphne is
replaced. Durations are printed, never asserted.
"""

import subprocess
import threading
import time
from collections import Counter

import pytest
import requests

from tests.support.chat import ReconnectingChat
from tests.support.journeys import DEMO_COURSE, PASSWORD, chat_round_trip, load_demo_courses, new_student
from tests.support.swarm import SingleNodeSwarm, deploy_swarm_stack, docker
from tests.support.system import wait_until

pytestmark = [pytest.mark.stack, pytest.mark.swarm]

# the pages the traffic asks for in turn: the cached catalogue, a course page
# and Django's own health answer
PAGES = ("/", f"/course/{DEMO_COURSE}/", "/healthz")
# the two students who chat, in the order of their chat clients
NAMES = ("ana", "bob")


@pytest.fixture(scope="module")
def swarm_stack(tmp_path_factory, single_node_swarm):
    stack = deploy_swarm_stack(tmp_path_factory.mktemp("swarm"))
    yield stack
    stack.remove()


@pytest.fixture(scope="module")
def single_node_swarm():
    swarm = SingleNodeSwarm()
    swarm.join()
    yield swarm
    swarm.leave()


class Traffic:
    """Two visitors asking for pages through NGINX without pause, in the background."""

    def __init__(self, stack):
        self.stack = stack
        self.answers = Counter()
        self.failures = []
        self.running = threading.Event()
        self.threads = [threading.Thread(target=self.visit, daemon=True) for _ in range(2)]

    def visit(self):
        client = self.stack.client()
        turn = 0
        while self.running.is_set():
            path = PAGES[turn % len(PAGES)]
            turn += 1
            try:
                status = client.get(path, timeout=30).status_code
            except requests.RequestException as error:
                status = type(error).__name__
            self.answers[status] += 1
            if status != 200:
                self.failures.append((time.strftime("%H:%M:%S"), path, status))
            time.sleep(0.02)

    def __enter__(self):
        self.started = time.monotonic()
        self.running.set()
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info):
        self.running.clear()
        for thread in self.threads:
            thread.join(60)
        self.seconds = time.monotonic() - self.started
        print(f"traffic: {dict(self.answers)} in {self.seconds:.0f}s ({self.rate:.0f} requests/s)")

    @property
    def rate(self):
        return sum(self.answers.values()) / self.seconds

    def check(self):
        assert self.failures == [], f"requests that got no page: {self.failures[:20]}"
        assert self.rate >= 20, f"the traffic was too thin to show anything: {self.rate:.1f} requests/s"


class Conversation:
    """Two students writing in turn, about one message a second, each on a reconnecting chat."""

    def __init__(self, stack, students, course):
        self.stack = stack
        self.course = course
        self.chats = [
            ReconnectingChat(
                f"{stack.ws_url}/ws/chat/room/{course}/",
                ssl_context=stack.ssl_context(),
                origin=stack.base_url,
                cookies=dict(client.cookies.items()),
                after=None,
            )
            for client in students
        ]
        self.keys = []
        self.running = threading.Event()
        self.thread = threading.Thread(target=self.talk, daemon=True)

    def talk(self):
        turn = 0
        while self.running.is_set():
            chat = self.chats[turn % 2]
            self.keys.append(chat.send(f"message {turn} during the deploy"))
            turn += 1
            time.sleep(0.5)

    def __enter__(self):
        for chat in self.chats:
            chat.start(timeout=30)
        self.running.set()
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.running.clear()
        self.thread.join(30)
        try:
            if exc_info[0] is None:
                self.check()
        finally:
            for chat in self.chats:
                chat.close()

    def check(self):
        for name, chat in zip(NAMES, self.chats, strict=True):
            try:
                chat.wait_for(keys=self.keys, timeout=120)
            except TimeoutError as error:
                raise AssertionError(f"{name}: {error}\n{self.report(chat)}") from None
            assert chat.pending() == [], "messages never confirmed by the server"
        # the keys are the clients' own tokens of letters and digits
        keys = ",".join(f"'{key}'" for key in self.keys)
        query = "SELECT count(*), count(DISTINCT client_key) FROM chat_message WHERE client_key IN ({})"
        stored = self.stack.psql(query.format(keys))
        assert stored == f"{len(self.keys)}|{len(self.keys)}", (
            f"{len(self.keys)} messages sent, stored: {stored}"
        )
        print(
            f"chat: {len(self.keys)} messages, each stored once and received by both; "
            f"reconnects {[chat.reconnects for chat in self.chats]}, "
            f"duplicates seen {[len(chat.duplicates) for chat in self.chats]}"
        )

    def report(self, chat):
        """What a failure needs: which keys are stored, and how each socket fared."""
        received = {message["key"] for message in chat.messages()}
        missing = [key for key in self.keys if key not in received]
        # the keys are the clients' own tokens of letters and digits
        query = "SELECT id, client_key, sent_on FROM chat_message WHERE client_key IN ({})"
        stored = self.stack.psql(query.format(",".join(f"'{key}'" for key in missing) or "''"))
        return "\n".join(
            [f"missing {missing}, stored: {stored or 'none'}"]
            + [
                f"{name}: opened {other.opened}, closed with {other.close_codes}, "
                f"pending {other.pending()}, failures to open {other.open_failures[-5:]}"
                for name, other in zip(NAMES, self.chats, strict=True)
            ]
        )


@pytest.fixture(scope="module")
def students(swarm_stack):
    load_demo_courses(swarm_stack, password=PASSWORD)
    clients = []
    for prefix in NAMES:
        _, client = new_student(swarm_stack, prefix)
        course = client.enrol(DEMO_COURSE)
        clients.append(client)
    return clients, course


def test_the_stack_serves_with_two_web_and_two_daphne_tasks(swarm_stack, students):
    assert swarm_stack.replicas("web").strip() == "2/2"
    assert swarm_stack.replicas("daphne").strip() == "2/2"
    # the release step ran as a job and recorded this image's release
    assert [task["CurrentState"].split()[0] for task in swarm_stack.tasks("migrate")] == ["Complete"]
    recorded = swarm_stack.exec("web", "cat", "/srv/educa/static/.educa-release").stdout.strip()
    assert recorded == swarm_stack.exec("web", "cat", "/app/RELEASE").stdout.strip()
    # the secrets are Swarm secrets: in no service's or container's settings
    inspected = docker(
        "service", "inspect", *(swarm_stack.service(name) for name in ("web", "db", "cache"))
    ).stdout
    for name in ("SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD"):
        assert swarm_stack.env[name] not in inspected, f"{name} is visible in docker service inspect"
    chat_round_trip(swarm_stack)


def test_scaling_web_out_and_back_loses_no_request(swarm_stack, students):
    with Traffic(swarm_stack) as traffic:
        for replicas in (3, 2):
            docker("service", "scale", "--detach", f"{swarm_stack.service('web')}={replicas}")
            # healthy tasks, and no more containers: a task scaled away has drained and exited
            wait_until(
                lambda replicas=replicas: swarm_stack.replicas("web").strip() == f"{replicas}/{replicas}"
                and len(swarm_stack.containers_of("web")) == replicas,
                300, f"web at {replicas} healthy tasks", pause=1,
            )  # fmt: skip
            time.sleep(3)
    traffic.check()


def test_a_rolling_update_drops_no_request_and_no_message(swarm_stack, students):
    clients, course = students
    second = f"{swarm_stack.project}-2"
    swarm_stack.tag_images(second, ("educa",))
    serving = {service: swarm_stack.containers_of(service) for service in ("web", "daphne")}
    with Traffic(swarm_stack) as traffic, Conversation(swarm_stack, clients, course) as conversation:
        time.sleep(3)
        started = time.monotonic()
        deployed = swarm_stack.deploy(second)
        print(f"rolled out {second} in {time.monotonic() - started:.0f}s")
        assert deployed.returncode == 0, f"{deployed.stdout[-3000:]}\n{deployed.stderr}"
        time.sleep(3)
    traffic.check()
    assert sum(chat.reconnects for chat in conversation.chats) >= 1, (
        "no chat client was moved to a new Daphne"
    )
    for service in ("web", "daphne"):
        assert set(swarm_stack.running_images(service)) == {f"educa:{second}"}
        # every task the update replaced was stopped by its signal within its
        # grace period and drained (exit 0), not killed at the end of it
        replaced = serving[service]
        assert not set(replaced) & set(swarm_stack.containers_of(service)), (
            f"{service} tasks were not replaced"
        )
        killed = [container for container in replaced if exit_code(container) != 0]
        assert not killed, f"replaced {service} tasks that did not exit by themselves:\n" + "\n".join(
            stop_report(container) for container in killed
        )


def exit_code(container):
    return int(docker("inspect", "--format", "{{.State.ExitCode}}", container).stdout)


def stop_report(container):
    """How a container ended (exit code, out of memory, when) and its last lines, for a failure message."""
    state = docker(
        "inspect",
        "--format",
        "{{.Config.Image}} exit {{.State.ExitCode}} OOMKilled={{.State.OOMKilled}} "
        "started {{.State.StartedAt}} finished {{.State.FinishedAt}}",
        container,
    ).stdout.strip()
    logs = docker("logs", "--tail", "40", container, check=False)
    return f"{state}\n{logs.stdout[-4000:]}{logs.stderr[-4000:]}"


def test_a_version_that_never_turns_healthy_is_rolled_back(swarm_stack, students, tmp_path):
    current = f"{swarm_stack.project}-2"
    broken = f"{swarm_stack.project}-broken"
    # the new version's web answers nothing its healthcheck accepts
    (tmp_path / "Dockerfile").write_text(
        f"FROM educa:{current}\nUSER root\n"
        "RUN printf 'import sys\\nsys.exit(\"this version is broken\")\\n' \\\n"
        "    > /app/config/uwsgi/healthcheck.py\n"
        "USER 10001:10001\n"
    )
    subprocess.run(
        ["docker", "build", "-q", "-t", f"educa:{broken}", str(tmp_path)], check=True, capture_output=True
    )
    swarm_stack.tags.append(f"educa:{broken}")
    with Traffic(swarm_stack) as traffic:
        deployed = swarm_stack.deploy(broken)
    traffic.check()
    assert deployed.returncode == 1, deployed.stdout[-3000:]
    assert f"{swarm_stack.service('web')} was not updated (rollback_completed)" in deployed.stderr
    assert set(swarm_stack.running_images("web")) == {f"educa:{current}"}
    wait_until(lambda: swarm_stack.replicas("web").strip() == "2/2", 60, "web back at 2 healthy tasks")
