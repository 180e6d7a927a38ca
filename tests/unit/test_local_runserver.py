"""The bare-machine promise: ``runserver`` with local settings and nothing else.

No PostgreSQL, no Redis, no Docker: Daphne's runserver serves the catalogue,
a student registers and enrols, and the chat works over a real WebSocket.
"""

import pytest
import requests

from tests.support.journeys import DEMO_COURSE
from tests.support.local_server import LocalServer, prepare_local_database

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def local_server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("local")
    prepare_local_database(workdir)
    server = LocalServer(workdir)
    server.start()
    yield server
    server.stop()


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
