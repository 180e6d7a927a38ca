"""uWSGI's container healthcheck reaches its socket wherever uWSGI listens (config/uwsgi/healthcheck.py)."""

import importlib.util
import socket
import threading

import pytest

from tests.support.system import REPO

pytestmark = pytest.mark.unit

spec = importlib.util.spec_from_file_location("uwsgi_healthcheck", REPO / "config/uwsgi/healthcheck.py")
healthcheck = importlib.util.module_from_spec(spec)
spec.loader.exec_module(healthcheck)


@pytest.mark.parametrize(
    ("name", "address"),
    [
        ("/run/educa/uwsgi.sock", (socket.AF_UNIX, "/run/educa/uwsgi.sock")),
        (":8000", (socket.AF_INET, ("127.0.0.1", 8000))),
        ("0.0.0.0:8000", (socket.AF_INET, ("127.0.0.1", 8000))),
        ("10.0.0.5:9000", (socket.AF_INET, ("10.0.0.5", 9000))),
    ],
)
def test_socket_address(name, address):
    assert healthcheck.socket_address(name) == address


def test_uwsgi_socket_from_the_environment_is_the_default(monkeypatch, capsys):
    # nothing listens on port 1: the probe fails, naming the TCP socket it tried
    monkeypatch.setenv("UWSGI_SOCKET", ":1")
    assert healthcheck.main(["--timeout", "2"]) == 1
    assert "unhealthy: :1:" in capsys.readouterr().err


def test_a_tcp_socket_answering_200_is_healthy(capsys):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]

        def answer():
            connection, _ = server.accept()
            with connection:
                connection.recv(4096)
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

        threading.Thread(target=answer, daemon=True).start()
        assert healthcheck.main(["--socket", f"127.0.0.1:{port}"]) == 0
