"""Booting the production compose stack, and reaching it the way users and operators do.

The stack is started with testcontainers' ``DockerCompose`` on
``docker-compose.yml`` alone (the production file, never the development
override), with a throwaway env file: fresh secrets, free host ports and a
project name of its own, so it never touches a developer's stack. Whoever
boots one removes it, volumes included (``Stack.remove``).

A run that is killed cannot clean up, so every project name carries the
process id of the run that made it (``educa-test-<pid>-<token>``), and
``remove_leftovers`` deletes the projects whose run is gone, and only those.

Clients reach the stack only from outside, through NGINX:
``https://localhost:<port>`` (or another ``Stack.host``), verified against the CA the stack
made on its first start (never with verification turned off).
"""

import json
import os
import re
import secrets
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from .chat import open_socket
from .prerequisites import stack_problem
from .site import SiteClient
from .system import REPO, free_port, one_at_a_time, wait_until

BOOT_TIMEOUT = 600
PROJECT_PREFIX = "educa-test-"
PROJECT_LABEL = "com.docker.compose.project"
# Containers the integration layer starts itself carry these labels.
CONTAINER_LABEL = "org.educa.tests"
OWNER_LABEL = "org.educa.tests.owner"
# readiness on NGINX's loopback server, inside the nginx container
READYZ_URL = "http://127.0.0.1:8081/readyz"

# Run inside the web container: uWSGI's stats socket answers with JSON and closes.
UWSGI_STATS = """
import json, socket
client = socket.socket(socket.AF_UNIX)
client.connect("/run/educa/uwsgi-stats.sock")
data = b""
while chunk := client.recv(65536):
    data += chunk
print(json.dumps(json.loads(data)["workers"]))
"""


@dataclass
class Stack:
    """A running production stack and the ways tests reach it."""

    project: str
    env_file: Path
    workdir: Path
    env: dict
    compose_files: tuple = ("docker-compose.yml",)
    checkout: Path = REPO
    ca_file: Path | None = None
    # (HTTP status, seconds) of the first WebSocket handshake after `up --wait`
    first_handshake: tuple | None = None
    # the name clients use; another than localhost needs system.resolving()
    host: str = "localhost"
    # frozen by pause() until resume()
    paused: bool = False

    @property
    def https_port(self):
        return int(self.env["HTTPS_PORT"])

    @property
    def http_port(self):
        return int(self.env["HTTP_PORT"])

    @property
    def base_url(self):
        return f"https://{self.host}:{self.https_port}"

    @property
    def ws_url(self):
        return f"wss://{self.host}:{self.https_port}"

    @property
    def http_url(self):
        return f"http://{self.host}:{self.http_port}"

    # --- users -------------------------------------------------------------------

    def client(self):
        """A new ``SiteClient`` for the stack: no cookies yet, TLS verified."""
        return SiteClient(self.base_url, self.ca_file)

    def ssl_context(self):
        return ssl.create_default_context(cafile=str(self.ca_file))

    def chat(self, course, client=None, origin=None, path=None, **options):
        """Open a course's chat WebSocket through NGINX as ``client`` (None: anonymous).

        ``origin`` defaults to the site's own, as a browser on the chat page
        sends it; ``path`` replaces the room's path for handshakes elsewhere.
        """
        return open_socket(
            f"{self.ws_url}{path or f'/ws/chat/room/{course}/'}",
            ssl_context=self.ssl_context(),
            origin=origin or self.base_url,
            cookies=dict(client.cookies.items()) if client is not None else None,
            **options,
        )

    # --- operators ---------------------------------------------------------------

    def compose_args(self):
        args = ["docker", "compose", "--project-name", self.project, "--env-file", str(self.env_file)]
        for compose_file in self.compose_files:
            args += ["-f", str(self.checkout / compose_file)]
        return args

    def compose(self, *args, check=True, timeout=BOOT_TIMEOUT):
        """Run ``docker compose <args>`` for this stack and return the completed process."""
        result = subprocess.run(
            [*self.compose_args(), *args],
            cwd=self.checkout,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"docker compose {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}\n{self.logs()}"
            )
        return result

    def logs(self, *services, tail=80):
        result = subprocess.run(
            [*self.compose_args(), "logs", "--no-color", f"--tail={tail}", *services],
            cwd=self.checkout,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return result.stdout + result.stderr

    def exec(self, service, *command, check=True, env=None):
        """Run ``command`` in a service's container; ``env`` adds variables for it alone."""
        options = [option for name, value in (env or {}).items() for option in ("-e", f"{name}={value}")]
        return self.compose("exec", "-T", *options, service, *command, check=check, timeout=120)

    def manage(self, *args, check=True, env=None):
        """Run a Django management command in the web container."""
        return self.exec("web", "python", "manage.py", *args, check=check, env=env)

    def psql(self, sql):
        """Run SQL in the stack's database and return the unaligned output."""
        return self.exec(
            "db", "psql", "-U", self.env["POSTGRES_USER"], "-d", self.env["POSTGRES_DB"], "-tAc", sql
        ).stdout.strip()

    def uwsgi_workers(self):
        """The uWSGI workers as its master's stats socket describes them (a list of dicts)."""
        output = self.exec("web", "python", "-c", UWSGI_STATS).stdout.strip().splitlines()[-1]
        return json.loads(output)

    def containers(self):
        """The stack's containers as dicts from ``docker compose ps --format json``."""
        out = self.compose("ps", "--all", "--format", "json").stdout.strip()
        if not out:
            return []
        if out.startswith("["):
            return json.loads(out)
        return [json.loads(line) for line in out.splitlines()]

    def inspect(self):
        """``docker inspect`` of every container of the stack, finished ones too."""
        ids = [container["ID"] for container in self.containers()]
        assert ids, "the stack has no containers"
        result = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True, check=True)
        return json.loads(result.stdout)

    def health(self, service):
        """(status, what its last probe printed) of a service's container healthcheck."""
        [container] = [c["Name"] for c in self.containers() if c["Service"] == service]
        state = subprocess.run(
            ["docker", "inspect", "--format", "{{json .State.Health}}", container],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        state = json.loads(state)
        return state["Status"], (state["Log"] or [{}])[-1].get("Output", "")

    def write_env(self):
        """Write ``env`` back to the env file (after a test changed a setting)."""
        self.env_file.write_text("".join(f"{key}={value}\n" for key, value in self.env.items()))

    def up(self, *args):
        self.compose("up", "-d", "--wait", *args)
        self.fetch_certificate()

    def down(self, *args):
        self.compose("down", *args, check=False, timeout=300)

    def pause(self):
        """Freeze every container of the stack until ``resume()``.

        A frozen container uses no CPU, and the engine runs no healthcheck in
        it: a stack waiting between the tests that use it would otherwise
        start a probe process every second or two in each of its containers,
        and on two cores the probes of idle stacks slow the stack under test.
        """
        if self.paused:
            return
        frozen = self.compose("pause", check=False)
        if frozen.returncode == 0:
            self.paused = True
            return
        # Freezing is only a saving: the engine can fail to freeze a container
        # now and then ("unable to freeze"), having frozen others. Thaw those
        # and leave the stack running.
        reason = (frozen.stderr.strip().splitlines() or ["?"])[-1]
        print(f"\n{self.project} could not be frozen ({reason}); it keeps running")
        self._thaw(wait=True)

    def resume(self, wait=True):
        """Thaw the stack frozen by ``pause()``, and wait until its healthchecks pass again.

        The engine calls a container unhealthy while its checks are stopped,
        until the next one passes, and Compose refuses to start a service
        whose dependency is unhealthy. ``wait=False`` only thaws it (before
        its removal: after the swarm test its names no longer resolve).
        """
        if self.paused:
            self._thaw(wait)

    def _thaw(self, wait):
        # check=False: after a failed freeze some containers were never frozen
        self.compose("unpause", check=False)
        self.paused = False
        if not wait:
            return

        def healthy():
            running = [c for c in self.containers() if c["State"] == "running"]
            return all(c.get("Health") in ("", "healthy") for c in running)

        wait_until(healthy, 120, f"{self.project} healthy again after its pause", pause=0.5)

    def remove(self):
        """Remove everything the stack made, volumes included."""
        self.resume(wait=False)
        self.down("--volumes", "--remove-orphans", "--timeout", "5")
        remove_project(self.project)

    def fetch_certificate(self):
        """Copy the stack's own CA out of NGINX so clients can verify the site against it
        (the served certificate itself where the operator's files are served instead)."""
        pem = self.exec(
            "nginx", "sh", "-c", "cat /etc/nginx/certs/local-ca.pem || cat /etc/nginx/certs/fullchain.pem"
        ).stdout
        self.ca_file = self.workdir / f"{self.project}-ca.pem"
        self.ca_file.write_text(pem)
        return self.ca_file

    def readiness(self):
        """(HTTP status, JSON body) of /readyz, asked where the operator asks: NGINX's loopback
        server (it passes it to uWSGI like any page; from outside /readyz is a 404)."""
        result = self.exec(
            "nginx", "curl", "-sS", "--max-time", "10", "-w", "\n%{http_code}", READYZ_URL, check=False
        )
        body, _, status = result.stdout.rpartition("\n")
        try:
            return int(status), json.loads(body)
        except ValueError:
            return 0, {"answer": (result.stdout + result.stderr)[-300:]}

    def wait_ready(self, timeout=120):
        """Wait until /readyz answers 200; return the seconds it took."""
        return wait_until(
            lambda: self.readiness()[0] == 200,
            timeout,
            f"/readyz of {self.project} answering 200\n{self.logs()}",
        )

    def probe_first_handshake(self):
        """Open one anonymous chat WebSocket at once and keep its answer in ``first_handshake``.

        Anonymous visitors are refused with 403 by the application itself, so
        the answer proves NGINX, Daphne and Django all took part. Nothing here
        waits or retries: this is what the first user after a deploy meets.
        """
        from websockets.exceptions import InvalidStatus

        started = time.monotonic()
        try:
            with self.chat(1):
                status = 101
        except InvalidStatus as refused:
            status = refused.response.status_code
        except (OSError, TimeoutError) as error:
            status = repr(error)
        self.first_handshake = (status, time.monotonic() - started)


def visible_settings(container):
    """Everything about a container's start that ``docker inspect`` shows as text."""
    config = container["Config"]
    return {
        "Config.Env": config.get("Env") or [],
        "Config.Cmd": config.get("Cmd") or [],
        "Config.Entrypoint": config.get("Entrypoint") or [],
        "Config.Healthcheck": (config.get("Healthcheck") or {}).get("Test") or [],
        "Args": container.get("Args") or [],
    }


def inspect_leaks(stack, values):
    """Where ``docker inspect`` of the stack's containers shows one of ``values`` ({name: secret})."""
    return [
        f"{container['Name']} {where} holds {name}"
        for container in stack.inspect()
        for where, items in visible_settings(container).items()
        for name, value in values.items()
        if any(value in item for item in items)
    ]


def project_name():
    return f"{PROJECT_PREFIX}{os.getpid()}-{secrets.token_hex(3)}"


def make_env(workdir, project, **overrides):
    """Write an env file with fresh secrets and free ports; return (path, values)."""
    values = {
        "COMPOSE_PROJECT_NAME": project,
        "SITE_DOMAIN": "localhost",
        "ALLOWED_HOSTS": "localhost,.localhost",
        "HTTP_PORT": str(free_port()),
        "HTTPS_PORT": str(free_port()),
        "SECRET_KEY": secrets.token_hex(48),
        "SECRET_KEY_FALLBACKS": "",
        "POSTGRES_DB": "educa",
        "POSTGRES_USER": "educa",
        "POSTGRES_PASSWORD": secrets.token_hex(24),
        "REDIS_PASSWORD": secrets.token_hex(24),
        "EMAIL_HOST_PASSWORD": secrets.token_hex(12),
        "UWSGI_WORKERS": "2",
        "UWSGI_THREADS": "2",
        # workers are recycled every few hundred requests, so the tests run
        # across recycling all the time (tests/stack/test_load.py asserts it
        # happens under load); the benchmarks pass the production value
        "UWSGI_MAX_REQUESTS": "250",
        "UWSGI_MAX_REQUESTS_DELTA": "125",
        "UPLOAD_MAX_MB": "2",
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        # the scheduler's job every five seconds, so a test sees it run
        # (tests/stack/test_scheduled_jobs.py); production's is daily
        "SCHEDULE_ENROLL_REMINDER": "*/5 * * * * *",
    }
    values.update({key: str(value) for key, value in overrides.items()})
    path = Path(workdir) / f"{project}.env"
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    return path, values


def boot_stack(
    workdir, compose_files=("docker-compose.yml",), checkout=REPO, host="localhost", project=None, **overrides
):
    """Build and start a fresh production stack; the caller must ``remove()`` it.

    ``host`` is the name clients reach it by (see ``Stack.host``); ``project``
    its compose project, when a peer made before it needs the name.
    """
    from testcontainers.compose import DockerCompose

    problem = stack_problem()
    if problem:
        pytest.fail(problem, pytrace=False)
    project = project or project_name()
    env_file, values = make_env(workdir, project, **overrides)
    stack = Stack(
        project=project,
        env_file=env_file,
        workdir=Path(workdir),
        env=values,
        compose_files=tuple(compose_files),
        checkout=Path(checkout),
        host=host,
    )
    compose = DockerCompose(
        context=str(checkout),
        compose_file_name=list(compose_files),
        env_file=str(env_file),
        wait=True,
    )
    # DockerCompose has no project-name option: COMPOSE_PROJECT_NAME in the env
    # file names the project, and every later command passes it explicitly.
    build_images([*compose.compose_command_property, "build"], checkout)
    started = time.monotonic()
    try:
        compose.start()
        stack.fetch_certificate()
        stack.probe_first_handshake()
        stack.wait_ready()
    except BaseException:
        print(stack.logs())
        stack.remove()
        raise
    print(f"\nstack {project} ready in {time.monotonic() - started:.1f}s on {stack.base_url}")
    return stack


def build_images(command, checkout):
    """Run ``command`` (a ``docker compose ... build``) in ``checkout``, one test process at a time."""
    with one_at_a_time("educa-test-images"):
        result = subprocess.run(command, cwd=checkout, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise AssertionError(f"building the images failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


# --- Leftovers of runs that were killed ------------------------------------------


def _owner_alive(pid):
    """Whether the test run with this process id is still running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True
    # the id may have been reused by an unrelated process since
    return b"python" in command or b"pytest" in command


def _docker_lines(*args):
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120)
    return [line for line in result.stdout.splitlines() if line.strip()] if result.returncode == 0 else []


def remove_project(project):
    """Delete a compose project's containers, networks and volumes by their labels."""
    label = f"label={PROJECT_LABEL}={project}"
    containers = _docker_lines("ps", "-aq", "--filter", label)
    if containers:
        _docker_lines("rm", "-f", "-v", *containers)
    networks = _docker_lines("network", "ls", "-q", "--filter", label)
    if networks:
        _docker_lines("network", "rm", *networks)
    volumes = _docker_lines("volume", "ls", "-q", "--filter", label)
    if volumes:
        _docker_lines("volume", "rm", "-f", *volumes)


def remove_leftovers():
    """Remove the test stacks and containers of runs that are no longer running; return their names.

    Only names made by ``project_name`` (and containers labelled by the
    integration layer) are considered, and only when the process that made
    them is gone: a developer's stack, or another run still going, is never
    touched.
    """
    owner = re.compile(rf"^{re.escape(PROJECT_PREFIX)}(\d+)-[0-9a-f]+$")
    projects = set()
    for kind in (["ps", "-a"], ["network", "ls"], ["volume", "ls"]):
        template = '{{.Label "' + PROJECT_LABEL + '"}}'
        projects.update(_docker_lines(*kind, "--filter", f"label={PROJECT_LABEL}", "--format", template))
    removed = []
    for project in sorted(projects):
        found = owner.match(project)
        if found and not _owner_alive(int(found[1])):
            remove_project(project)
            removed.append(project)
    # stacks on a swarm (tests/support/swarm.py), named the same way
    from .swarm import remove_swarm_stack

    for stack in _docker_lines("stack", "ls", "--format", "{{.Name}}"):
        found = owner.match(stack)
        if found and not _owner_alive(int(found[1])):
            remove_swarm_stack(stack)
            removed.append(stack)
    template = '{{.ID}} {{.Label "' + OWNER_LABEL + '"}}'
    for line in _docker_lines("ps", "-a", "--filter", f"label={CONTAINER_LABEL}", "--format", template):
        container, _, pid = line.partition(" ")
        if pid.isdigit() and not _owner_alive(int(pid)):
            _docker_lines("rm", "-f", "-v", container)
            removed.append(container)
    return removed
