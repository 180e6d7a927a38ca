"""educa's own processes with production settings: manage.py, Daphne and uWSGI.

The integration layer configures educa exactly as production does, through
the environment variables ``educa.settings.prod`` reads, and only changes
where the services are: containers started by its fixtures instead of the
compose stack. uWSGI runs from the shipped ``config/uwsgi/uwsgi.ini``; only
the paths that differ outside the image (project directory, sockets) come
from the environment.
"""

import contextlib
import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import requests

from .system import MANAGE, PROJECT_DIR, REPO, free_port

BIN_DIR = Path(sys.executable).parent
UWSGI_INI = REPO / "config" / "uwsgi" / "uwsgi.ini"

# Everything production needs besides the addresses of PostgreSQL and Redis.
# Values are throwaway test data; plain HTTP servers must not redirect to HTTPS.
BASE_PROD_ENV = {
    "DJANGO_SETTINGS_MODULE": "educa.settings.prod",
    "SECRET_KEY": "integration-tests-only-" + "k3y" * 16,
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SITE_DOMAIN": "educa.test",
    "SECURE_SSL_REDIRECT": "False",
    "LOG_LEVEL": "WARNING",
}

# Variables that change what the production settings build. Those not given to
# ``production_settings`` are removed for the duration, so a developer's shell
# cannot change what a test sees.
SETTINGS_VARIABLES = (
    "POSTGRES_DB",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_HOST",
    "POSTGRES_PORT",
    "REDIS_URL",
    "REDIS_PASSWORD",
    "REDIS_PASSWORD_FILE",
    "REDIS_CACHE_DB",
    "REDIS_CHANNEL_LAYER_DB",
    "REDIS_SSL_CA_CERTS",
    "REDIS_SSL_CERT_REQS",
    "REDIS_TIMEOUT",
    "STATIC_ROOT",
    "MEDIA_ROOT",
)


@contextlib.contextmanager
def environment(values):
    """Set ``values`` in ``os.environ`` (and unset the other SETTINGS_VARIABLES) for a block."""
    names = set(values) | set(SETTINGS_VARIABLES)
    saved = {name: os.environ.get(name) for name in names}
    for name in SETTINGS_VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def production_settings(env):
    """The namespace ``educa.settings.prod`` builds under ``env`` (plus BASE_PROD_ENV).

    The module is executed afresh and not installed in ``sys.modules``, so the
    settings of the running test session are untouched; the tests take CACHES
    and CHANNEL_LAYERS from it and install them with ``override_settings``.
    """
    spec = importlib.util.find_spec("educa.settings.prod")
    module = importlib.util.module_from_spec(spec)
    with environment({**BASE_PROD_ENV, **env}):
        spec.loader.exec_module(module)
    return vars(module)


def process_env(env):
    """The environment of a manage.py or server process running with production settings."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if name not in SETTINGS_VARIABLES and name not in BASE_PROD_ENV
    }
    return {
        **inherited,
        **BASE_PROD_ENV,
        **env,
        "PYTHONPATH": str(PROJECT_DIR),
        "PYTHONUNBUFFERED": "1",
    }


def manage(env, *args, timeout=120, check=True):
    """Run ``manage.py`` with production settings; fail with its output when ``check`` and it fails."""
    result = subprocess.run(
        [sys.executable, str(MANAGE), *args],
        env=process_env(env),
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"manage.py {' '.join(args)} exited with {result.returncode}\n"
            f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
        )
    return result


def run_python(env, script, *args, timeout=120):
    """Run a Python script with production settings; return its CompletedProcess."""
    return subprocess.run(
        [sys.executable, str(script), *map(str, args)],
        env=process_env(env),
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class Server:
    """A production server process of educa on 127.0.0.1; ``start()`` returns once /readyz is 200."""

    name = "server"
    log_level = "WARNING"

    def __init__(self, env, log_path):
        self.env = env
        self.log_path = Path(log_path)
        self.process = None
        self.url = None

    def command(self):
        raise NotImplementedError

    def process_variables(self):
        """Variables of this server's own, besides the production settings."""
        return {}

    def find_url(self):
        """The server's base URL once known, else None."""
        return self.url

    def start(self, timeout=60):
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                self.command(),
                env=process_env({**self.env, "LOG_LEVEL": self.log_level, **self.process_variables()}),
                cwd=PROJECT_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        try:
            while self.find_url() is None:
                self._fail_if_exited()
                if time.monotonic() > deadline:
                    raise AssertionError(f"{self.name} did not start listening in {timeout}s:\n{self.log()}")
                time.sleep(0.2)
            self.url = self.find_url()
            self.wait_ready(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, deadline):
        """Wait for /readyz to answer 200 (database, cache and channel layer reachable)."""
        last = None
        while time.monotonic() < deadline:
            self._fail_if_exited()
            try:
                last = requests.get(f"{self.url}/readyz", timeout=10)
                if last.status_code == 200:
                    return
            except requests.ConnectionError as error:
                last = error
            time.sleep(0.3)
        body = getattr(last, "text", last)
        raise AssertionError(f"{self.url}/readyz never answered 200 (last: {body})\n{self.log()}")

    def _fail_if_exited(self):
        if self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.log()}")

    def log(self):
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class DaphneServer(Server):
    """Daphne (HTTP and WebSockets) on a port the system picks, read back from its log."""

    name = "daphne"
    # Daphne announces the port it was given at INFO.
    log_level = "INFO"
    LISTENING = re.compile(r"Listening on TCP address 127\.0\.0\.1:(\d+)")

    def command(self):
        return [
            str(BIN_DIR / "daphne"),
            "--endpoint",
            "tcp:port=0:interface=127.0.0.1",
            "educa.asgi:application",
        ]

    def find_url(self):
        match = self.LISTENING.search(self.log())
        return f"http://127.0.0.1:{match.group(1)}" if match else None


class UwsgiServer(Server):
    """uWSGI with several worker processes, as production serves HTTP, speaking HTTP itself."""

    name = "uwsgi"

    def __init__(self, env, log_path, workers=4):
        super().__init__(env, log_path)
        self.workers = workers
        self.url = f"http://127.0.0.1:{free_port()}"

    def command(self):
        return [str(BIN_DIR / "uwsgi"), "--ini", str(UWSGI_INI)]

    def process_variables(self):
        run_dir = self.log_path.parent
        return {
            "UWSGI_CHDIR": str(PROJECT_DIR),
            # the image's Unix socket moves to a scratch directory, and an
            # HTTP socket on loopback is added for the tests' client
            "UWSGI_SOCKET": str(run_dir / "uwsgi.sock"),
            "UWSGI_HTTP_SOCKET": self.url.removeprefix("http://"),
            "UWSGI_STATS": str(run_dir / "uwsgi-stats.sock"),
            "UWSGI_WORKERS": str(self.workers),
            "UWSGI_DISABLE_LOGGING": "true",
            # The plain HTTP socket closes every connection after one
            # response; say so, or a client reusing it gets a reset.
            "UWSGI_ADD_HEADER": "Connection: close",
        }
