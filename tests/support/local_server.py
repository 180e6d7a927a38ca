"""``manage.py runserver`` (Daphne) with the local settings: no PostgreSQL, Redis or Docker.

The database is a SQLite file in a directory of the test's own, migrated
and loaded with the demo courses once (``prepare_local_database``). Several
servers may share it, each a process with its own in-memory channel layer:
a message stored through one is not broadcast to the sockets of another,
which is how a client's catching up can be seen alone. A server can be
stopped and started again on the same port, as a deploy does to Daphne.
"""

import subprocess
import sys

import pytest
import requests

from .chat import open_socket
from .settings import clean_environment
from .site import SiteClient
from .system import MANAGE, free_port, wait_until


def local_environment(workdir):
    return clean_environment(
        DJANGO_SETTINGS_MODULE="educa.settings.local",
        SQLITE_PATH=str(workdir / "db.sqlite3"),
        MEDIA_ROOT=str(workdir / "media"),
        ALLOWED_HOSTS="127.0.0.1,localhost",
    )


def manage(workdir, *args):
    env = local_environment(workdir)
    result = subprocess.run(
        [sys.executable, str(MANAGE), *args], env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stdout}\n{result.stderr}"


def prepare_local_database(workdir):
    """The SQLite database of ``workdir``, migrated, with the demo courses."""
    manage(workdir, "migrate", "--noinput")
    manage(workdir, "load_demo_data", "--password", "Demo-instructor-pw-1")


class LocalServer:
    """One runserver process on 127.0.0.1, serving the database of ``workdir``."""

    def __init__(self, workdir, name="runserver"):
        self.workdir = workdir
        self.name = name
        self.port = free_port()
        self.process = None
        self.log = None

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def client(self):
        return SiteClient(self.base_url)

    def chat_url(self, course):
        return f"ws://127.0.0.1:{self.port}/ws/chat/room/{course}/"

    def chat(self, course, client):
        return open_socket(self.chat_url(course), origin=self.base_url, cookies=dict(client.cookies.items()))

    def start(self):
        """Start the server (on the same port as before, if it ran already); returns once it answers."""
        self.log = (self.workdir / f"{self.name}.log").open("a")
        self.process = subprocess.Popen(
            [sys.executable, str(MANAGE), "runserver", f"127.0.0.1:{self.port}", "--noreload"],
            env=local_environment(self.workdir),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

        def answering():
            if self.process.poll() is not None:
                pytest.fail(f"runserver exited:\n{(self.workdir / f'{self.name}.log').read_text()}")
            return requests.get(f"{self.base_url}/healthz", timeout=2).status_code == 200

        try:
            wait_until(answering, 60, f"{self.name} answering /healthz", pause=0.2)
        except BaseException:
            self.stop()
            raise

    def stop(self):
        """Stop the server: its sockets close, as those of a Daphne process a deploy stops."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None
        if self.log is not None:
            self.log.close()
            self.log = None
