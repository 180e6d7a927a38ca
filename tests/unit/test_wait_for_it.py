"""wait-for-it.sh: the start-up guard where depends_on is not honoured (Swarm)."""

import shutil
import socket
import subprocess
import threading

import pytest

from tests.support.system import REPO

pytestmark = pytest.mark.unit

SCRIPT = REPO / "wait-for-it.sh"
SHELL = shutil.which("dash") or "/bin/sh"  # POSIX sh, not bash


def run(*args, timeout=30):
    return subprocess.run([SHELL, str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def listening_port():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server.getsockname()[1]
    server.close()


@pytest.fixture
def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_runs_the_command_once_every_target_answers(listening_port, tmp_path):
    marker = tmp_path / "ran"
    result = run(
        "-t", "5", f"127.0.0.1:{listening_port}", f"localhost:{listening_port}", "--", "touch", str(marker)
    )
    assert result.returncode == 0, result.stderr
    assert marker.exists()


def test_the_command_status_is_passed_on(listening_port):
    result = run("-t", "5", f"127.0.0.1:{listening_port}", "--", "sh", "-c", "exit 7")
    assert result.returncode == 7


def test_times_out_with_124_naming_the_silent_target(listening_port, closed_port, tmp_path):
    marker = tmp_path / "ran"
    result = run(
        "-t", "2", f"127.0.0.1:{listening_port}", f"127.0.0.1:{closed_port}", "--", "touch", str(marker)
    )
    assert result.returncode == 124
    assert f"127.0.0.1:{closed_port}" in result.stderr
    assert not marker.exists(), "the command ran although a target never answered"


def test_waits_for_a_service_that_comes_up_later(closed_port):
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)

    def start_late():
        server.bind(("127.0.0.1", closed_port))
        server.listen()

    timer = threading.Timer(1.5, start_late)
    timer.start()
    try:
        result = run("-t", "20", f"127.0.0.1:{closed_port}")
    finally:
        timer.join()
        server.close()
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "args",
    [
        (),  # no target
        ("no-port-here",),
        ("host:notaport",),
        ("-t", "soon", "host:80"),
        ("--bogus", "host:80"),
    ],
)
def test_usage_errors_exit_2(args):
    result = run(*args)
    assert result.returncode == 2
    assert "Usage" in result.stderr or "usage" in result.stderr
