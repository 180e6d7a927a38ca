"""The bare-machine promise: ``runserver`` with local settings and nothing else.

No PostgreSQL, no Redis, no Docker: Daphne's runserver serves the catalogue,
a student registers and enrols, and the chat works over a real WebSocket.
"""

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.stack_support import chat_socket, enroll, free_port, receive_json, register_student

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
MANAGE = REPO / "educa" / "manage.py"


@dataclass
class LocalServer:
    """Looks like the stack to the shared user helpers, over plain HTTP."""

    port: int
    ca_file: None = None

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self):
        return f"ws://127.0.0.1:{self.port}"

    def ssl_context(self):
        return None


@pytest.fixture(scope="module")
def local_server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("local")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "POSTGRES_", "REDIS_")) and key != "SECRET_KEY"
    }
    env.update(
        DJANGO_SETTINGS_MODULE="educa.settings.local",
        SQLITE_PATH=str(workdir / "db.sqlite3"),
        MEDIA_ROOT=str(workdir / "media"),
        ALLOWED_HOSTS="127.0.0.1,localhost",
    )

    def manage(*args):
        result = subprocess.run(
            [sys.executable, str(MANAGE), *args], env=env, capture_output=True, text=True, timeout=180
        )
        assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stdout}\n{result.stderr}"

    manage("migrate", "--noinput")
    manage("load_demo_data", "--password", "Demo-instructor-pw-1")
    server = LocalServer(port=free_port())
    log = (workdir / "runserver.log").open("w")
    process = subprocess.Popen(
        [sys.executable, str(MANAGE), "runserver", f"127.0.0.1:{server.port}", "--noreload"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{server.base_url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"runserver did not start:\n{(workdir / 'runserver.log').read_text()}")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def test_catalogue_is_served(local_server):
    response = requests.get(f"{local_server.base_url}/", timeout=10)
    assert response.status_code == 200
    assert "python-from-scratch" in response.text


def test_a_student_registers_enrols_and_chats(local_server):
    ana = register_student(local_server, "ana", "Local-student-pw-1")
    ben = register_student(local_server, "ben", "Local-student-pw-2")
    course = enroll(ana, local_server, "python-from-scratch")
    assert enroll(ben, local_server, "python-from-scratch") == course

    with (
        chat_socket(local_server, course, ana) as ana_socket,
        chat_socket(local_server, course, ben) as ben_socket,
    ):
        ana_socket.send('{"message": "hello from a bare machine"}')
        for socket_ in (ana_socket, ben_socket):
            frame = receive_json(socket_)
            assert frame["message"] == "hello from a bare machine"
            assert frame["user"] == "ana"

    room = ben.get(f"{local_server.base_url}/chat/room/{course}/", timeout=10)
    assert room.status_code == 200
    assert "hello from a bare machine" in room.text
