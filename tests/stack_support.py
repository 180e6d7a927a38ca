"""Booting the production compose stack for the stack and browser layers.

The stack is started with testcontainers' ``DockerCompose`` on
``docker-compose.yml`` alone (the production file, never the development
override), with a throwaway env file: fresh secrets, free host ports and a
project name of its own, so it never touches a developer's stack. Everything
it creates, volumes included, is removed at the end.

Tests reach it only from outside, through NGINX: ``https://localhost:<port>``,
verified against the self-signed certificate the stack generated on its first
start (never with verification turned off).
"""

import json
import secrets
import shutil
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
STACK_IMAGES = ("postgres:17", "redis:8.0", "nginx:1.26", "python:3.13-slim")
BOOT_TIMEOUT = 600

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

HELP = (
    "The stack and browser layers need {what}. Install Docker Engine with the Compose v2 plugin "
    "(`docker compose version` must answer; Debian: apt-get install docker.io docker-compose), "
    "and the images {images} (where no registry is reachable, `bash .ci/images.sh` builds local "
    "stand-ins). To run the other layers without them: pytest -m 'not stack and not browser'."
)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stack_problem():
    """Why the stack cannot be booted here, or None when it can."""
    images = ", ".join(STACK_IMAGES)
    if shutil.which("docker") is None:
        return HELP.format(what="the docker command", images=images)
    version = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
    if version.returncode != 0:
        return HELP.format(what=f"the Compose v2 plugin ({version.stderr.strip()})", images=images)
    info = subprocess.run(
        ["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True
    )
    if info.returncode != 0:
        return HELP.format(what=f"a running Docker Engine ({info.stderr.strip()})", images=images)
    missing = [
        image
        for image in STACK_IMAGES
        if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode != 0
    ]
    if missing:
        return HELP.format(what=f"the images {', '.join(missing)}", images=images)
    return None


@dataclass
class Stack:
    """A running production stack and the ways tests reach it."""

    project: str
    env_file: Path
    https_port: int
    http_port: int
    workdir: Path
    compose_files: tuple = ("docker-compose.yml",)
    env: dict = field(default_factory=dict)
    ca_file: Path | None = None

    @property
    def base_url(self):
        return f"https://localhost:{self.https_port}"

    @property
    def ws_url(self):
        return f"wss://localhost:{self.https_port}"

    @property
    def http_url(self):
        return f"http://localhost:{self.http_port}"

    def compose_args(self):
        args = ["docker", "compose", "--project-name", self.project, "--env-file", str(self.env_file)]
        for compose_file in self.compose_files:
            args += ["-f", str(REPO / compose_file)]
        return args

    def compose(self, *args, check=True, timeout=BOOT_TIMEOUT, env=None):
        """Run ``docker compose <args>`` for this stack and return the completed process."""
        result = subprocess.run(
            [*self.compose_args(), *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
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
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return result.stdout + result.stderr

    def exec(self, service, *command, check=True):
        return self.compose("exec", "-T", service, *command, check=check, timeout=120)

    def psql(self, sql):
        """Run SQL in the stack's database and return the unaligned output."""
        return self.exec(
            "db", "psql", "-U", self.env["POSTGRES_USER"], "-d", self.env["POSTGRES_DB"], "-tAc", sql
        ).stdout.strip()

    def uwsgi_workers(self):
        """The uWSGI workers as its master's stats socket describes them (a list of dicts)."""
        output = self.exec("web", "python", "-c", UWSGI_STATS).stdout.strip().splitlines()[-1]
        return json.loads(output)

    def manage(self, *args):
        """Run a Django management command in the web container."""
        return self.exec("web", "python", "manage.py", *args)

    def up(self, *args):
        self.compose("up", "-d", "--wait", *args)
        self.fetch_certificate()

    def down(self, *args):
        self.compose("down", *args, check=False, timeout=300)

    def containers(self):
        """The stack's containers as dicts from ``docker compose ps --format json``."""
        out = self.compose("ps", "--all", "--format", "json").stdout.strip()
        if not out:
            return []
        if out.startswith("["):
            return json.loads(out)
        return [json.loads(line) for line in out.splitlines()]

    def fetch_certificate(self):
        """Copy the stack's certificate out of NGINX so clients can verify it."""
        pem = self.exec("nginx", "cat", "/etc/nginx/certs/fullchain.pem").stdout
        self.ca_file = self.workdir / "stack-ca.pem"
        self.ca_file.write_text(pem)
        return self.ca_file

    def ssl_context(self):
        context = ssl.create_default_context(cafile=str(self.ca_file))
        return context

    def wait_ready(self, timeout=120):
        """Wait until /readyz answers 200 through NGINX; return the seconds it took."""
        import requests

        start = time.monotonic()
        last = None
        while time.monotonic() - start < timeout:
            try:
                response = requests.get(f"{self.base_url}/readyz", verify=str(self.ca_file), timeout=5)
                last = f"{response.status_code} {response.text[:200]}"
                if response.status_code == 200:
                    return time.monotonic() - start
            except requests.RequestException as error:
                last = repr(error)
            time.sleep(0.5)
        raise AssertionError(f"stack not ready after {timeout}s (last answer: {last})\n{self.logs()}")


def make_env(workdir, project, **overrides):
    """Write an env file with fresh secrets and free ports; return (path, values)."""
    values = {
        "COMPOSE_PROJECT_NAME": project,
        "SITE_DOMAIN": "localhost",
        "ALLOWED_HOSTS": "localhost,.localhost",
        "HTTP_PORT": str(free_port()),
        "HTTPS_PORT": str(free_port()),
        "SECRET_KEY": secrets.token_hex(48),
        "POSTGRES_DB": "educa",
        "POSTGRES_USER": "educa",
        "POSTGRES_PASSWORD": secrets.token_hex(24),
        "REDIS_PASSWORD": secrets.token_hex(24),
        "EMAIL_HOST_PASSWORD": secrets.token_hex(12),
        "UWSGI_WORKERS": "2",
        "UWSGI_THREADS": "2",
        "UPLOAD_MAX_MB": "2",
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
    }
    values.update(overrides)
    path = workdir / f"{project}.env"
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    return path, values


def boot_stack(workdir, compose_files=("docker-compose.yml",), **overrides):
    """Build and start a fresh production stack; the caller must ``down -v`` it."""
    from testcontainers.compose import DockerCompose

    problem = stack_problem()
    if problem:
        pytest.fail(problem, pytrace=False)
    project = f"educa-test-{secrets.token_hex(4)}"
    env_file, values = make_env(workdir, project, **overrides)
    stack = Stack(
        project=project,
        env_file=env_file,
        https_port=int(values["HTTPS_PORT"]),
        http_port=int(values["HTTP_PORT"]),
        workdir=workdir,
        compose_files=tuple(compose_files),
        env=values,
    )
    compose = DockerCompose(
        context=str(REPO),
        compose_file_name=list(compose_files),
        env_file=str(env_file),
        build=True,
        wait=True,
    )
    # DockerCompose has no project-name option: COMPOSE_PROJECT_NAME in the env
    # file names the project, and every later command passes it explicitly.
    started = time.monotonic()
    try:
        compose.start()
        stack.fetch_certificate()
        stack.wait_ready()
    except BaseException:
        print(stack.logs())
        stack.down("--volumes", "--remove-orphans")
        raise
    print(f"\nstack {project} ready in {time.monotonic() - started:.1f}s on {stack.base_url}")
    return stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """The production stack, booted once for the stack and browser layers."""
    workdir = tmp_path_factory.mktemp("stack")
    running = boot_stack(workdir)
    yield running
    running.down("--volumes", "--remove-orphans")


# --- Talking to the site as a user -------------------------------------------
# Generic helpers for tests that drive the stack like a browser would: a
# requests session that verifies the stack's certificate, forms posted with
# their CSRF token and a same-origin Referer, and chat WebSockets carrying the
# session cookie.


def site_session(stack):
    """A requests session for the stack, verifying TLS against its certificate."""
    import requests

    session = requests.Session()
    session.verify = str(stack.ca_file)
    # Otherwise REQUESTS_CA_BUNDLE (or CURL_CA_BUNDLE), when set, silently
    # replaces session.verify on every request and the stack's certificate is
    # not trusted; proxies from the environment must not see localhost either.
    session.trust_env = False
    return session


def post_form(session, stack, path, data, form_path=None, files=None):
    """GET the form at ``form_path`` (default ``path``), then POST ``data`` to ``path``.

    The CSRF token comes from the cookie the GET set, and the Referer is the
    page the form was on, as a browser sends it over HTTPS. ``files`` makes it
    a multipart upload (requests' format). Redirects are not followed, so the
    caller sees where the site sends the user.
    """
    form_url = f"{stack.base_url}{form_path or path}"
    page = session.get(form_url, timeout=30)
    assert page.status_code == 200, f"GET {form_url}: {page.status_code}"
    token = session.cookies.get("csrftoken")
    assert token, f"GET {form_url} set no csrftoken cookie"
    return session.post(
        f"{stack.base_url}{path}",
        data={"csrfmiddlewaretoken": token, **data},
        files=files,
        headers={"Referer": form_url},
        allow_redirects=False,
        timeout=30,
    )


def register_student(stack, username, password):
    """Sign up through /students/register/; return the signed-in session."""
    session = site_session(stack)
    response = post_form(
        session,
        stack,
        "/students/register/",
        {
            "username": username,
            "email": f"{username}@example.com",
            "password1": password,
            "password2": password,
        },
    )
    assert response.status_code == 302, (
        f"registration refused ({response.status_code}):\n{response.text[:2000]}"
    )
    assert session.cookies.get("sessionid"), "registration did not sign the student in"
    return session


def log_in(stack, username, password):
    """Sign in through /accounts/login/; return the signed-in session."""
    session = site_session(stack)
    response = post_form(session, stack, "/accounts/login/", {"username": username, "password": password})
    assert response.status_code == 302, f"login refused ({response.status_code}):\n{response.text[:2000]}"
    return session


def enroll(session, stack, slug):
    """Press the enrol button on a course's public page; return the course's id."""
    import re

    page = f"/course/{slug}/"
    form = session.get(f"{stack.base_url}{page}", timeout=30)
    assert form.status_code == 200, f"GET {page}: {form.status_code}"
    found = re.search(r'name="course_id" value="(\d+)"', form.text)
    assert found, f"no enrol button on {page}"
    response = post_form(session, stack, "/students/enroll-course/", {"course_id": found[1]}, form_path=page)
    assert response.status_code == 302, f"enrolment refused ({response.status_code})"
    return int(found[1])


def chat_socket(stack, course, session=None, origin=None, **options):
    """Open the chat WebSocket of a course through NGINX (websockets' sync client).

    ``session`` supplies the cookies (none: anonymous); ``origin`` defaults to
    the site's own, as a browser on the chat page would send it.
    """
    from websockets.sync.client import connect

    headers = {}
    if session is not None:
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in session.cookies.items())
    return connect(
        f"{stack.ws_url}/ws/chat/room/{course}/",
        ssl=stack.ssl_context(),
        origin=origin or stack.base_url,
        additional_headers=headers,
        proxy=None,
        open_timeout=15,
        **options,
    )


def receive_json(socket, timeout=15):
    """The next frame of a WebSocket, decoded from JSON."""
    return json.loads(socket.recv(timeout=timeout))
