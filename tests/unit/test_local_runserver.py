"""The bare-machine promise: ``runserver`` with local settings and nothing else.

No PostgreSQL, no Redis, no Docker: Daphne's runserver serves the catalogue,
a student registers and enrols, and the chat works over a real WebSocket.
"""

import subprocess
import sys
from dataclasses import dataclass

import pytest
import requests

from tests.support.chat import open_socket
from tests.support.journeys import DEMO_COURSE
from tests.support.settings import clean_environment
from tests.support.site import SiteClient
from tests.support.system import MANAGE, free_port, wait_until

pytestmark = pytest.mark.unit


@dataclass
class LocalServer:
    port: int

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def client(self):
        return SiteClient(self.base_url)

    def chat(self, course, client):
        return open_socket(
            f"ws://127.0.0.1:{self.port}/ws/chat/room/{course}/",
            origin=self.base_url,
            cookies=dict(client.cookies.items()),
        )


@pytest.fixture(scope="module")
def local_server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("local")
    env = clean_environment(
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

        def answering():
            if process.poll() is not None:
                pytest.fail(f"runserver exited:\n{(workdir / 'runserver.log').read_text()}")
            return requests.get(f"{server.base_url}/healthz", timeout=2).status_code == 200

        wait_until(answering, 60, "runserver answering /healthz", pause=0.2)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def test_catalogue_is_served(local_server):
    response = requests.get(f"{local_server.base_url}/", timeout=10)
    assert response.status_code == 200
    assert DEMO_COURSE in response.text


def test_a_student_registers_enrols_and_chats(local_server):
    ana, ben = local_server.client(), local_server.client()
    ana.register("ana", "Local-student-pw-1")
    ben.register("ben", "Local-student-pw-2")
    course = ana.enrol(DEMO_COURSE)
    assert ben.enrol(DEMO_COURSE) == course

    with local_server.chat(course, ana) as ana_socket, local_server.chat(course, ben) as ben_socket:
        ana_socket.send({"message": "hello from a bare machine"})
        for socket_ in (ana_socket, ben_socket):
            frame = socket_.receive_json()
            assert frame["message"] == "hello from a bare machine"
            assert frame["user"] == "ana"

    room = ben.get(f"/chat/room/{course}/")
    assert room.status_code == 200
    assert "hello from a bare machine" in room.text
