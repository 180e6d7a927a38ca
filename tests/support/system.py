"""Small facts and tools every layer uses."""

import fcntl
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROJECT_DIR = REPO / "educa"
MANAGE = PROJECT_DIR / "manage.py"


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def one_at_a_time(name):
    """Hold a lock file named ``name`` (in the temporary directory) for the block.

    For what the parallel processes of a test run share on this machine, such
    as the images ``docker compose build`` makes: the first process builds
    them while the others wait, then find them built.
    """
    with open(Path(tempfile.gettempdir()) / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def wait_until(condition, timeout, what, pause=0.5):
    """Call ``condition`` until it returns something true; return the seconds that took.

    An exception from ``condition`` counts as "not yet" (the service may still
    be starting) and is shown if time runs out, with ``what`` naming what
    never happened.
    """
    started = time.monotonic()
    last_error = None
    while True:
        try:
            if condition():
                return time.monotonic() - started
        except Exception as error:  # not ready yet: try again until the deadline
            last_error = error
        if time.monotonic() - started >= timeout:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise AssertionError(f"{what}: not within {timeout}s{detail}")
        time.sleep(pause)


@contextmanager
def resolving(name, address="127.0.0.1"):
    """Resolve ``name`` to ``address`` in this process, like ``curl --resolve``.

    For a stack whose SITE_DOMAIN is a name no DNS knows: clients then
    connect to the published port by that name, so SNI, the Host header and
    certificate checks all use it. Only this process is affected.
    """
    original = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        return original(address if host == name else host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = original


def build_test_image(tag, directory):
    """Build a test peer's image from ``directory`` (cached by Docker after the first time)."""
    with one_at_a_time("educa-test-images"):
        result = subprocess.run(
            ["docker", "build", "-q", "-t", tag, str(directory)],
            capture_output=True,
            text=True,
            timeout=900,
        )
    if result.returncode != 0:
        raise AssertionError(f"building {tag} failed:\n{result.stdout}\n{result.stderr}")
