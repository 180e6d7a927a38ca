"""A pytest plugin that boots the educa production stack for a test session.

This suite's stack and browser layers use it, and so can anyone whose own
integration tests need a running educa (see "Boot the stack in your own
tests" in docs/operations.md). Load it with ``-p tests.support.plugin`` or
``pytest_plugins = ["tests.support.plugin"]`` with the educa checkout on
``sys.path``.

Fixtures:

``educa_stack``
    A ``tests.support.stack.Stack``, booted once per session on first use and
    removed (volumes included) at the end: ``base_url``, ``ca_file`` (the
    stack's certificate, to verify TLS), ``client()`` (an HTTP client that
    verifies it), ``chat(course, client)``, ``manage(*args)``, ``psql(sql)``,
    ``compose(*args)`` and ``logs()``.
``educa_stack_settings``
    Extra variables for the stack's env file (e.g. ``{"UWSGI_WORKERS": "4"}``);
    override it in your conftest.py to change them.

Options: ``--educa-checkout=PATH`` boots the compose files of another checkout
(default: the one this plugin lives in; also ``EDUCA_CHECKOUT``).

At the start of every session the stacks left by earlier runs that were
killed are removed (only the test projects whose run is gone).
"""

import os
import shutil
from pathlib import Path

import pytest

from .stack import boot_stack, remove_leftovers
from .system import REPO


def pytest_addoption(parser):
    parser.addoption(
        "--educa-checkout",
        default=os.environ.get("EDUCA_CHECKOUT", str(REPO)),
        help="educa checkout whose compose files the educa_stack fixture boots (default: %(default)s)",
    )


def pytest_sessionstart(session):
    if shutil.which("docker") is None:
        return
    removed = remove_leftovers()
    if removed:
        print(f"\nremoved what killed test runs left behind: {', '.join(removed)}")


@pytest.fixture(scope="session")
def educa_stack_settings():
    """Extra env-file variables for the stack; override to change them."""
    return {}


# The session's stack once booted, for code that must not boot it (educa's own
# conftest freezes it while a module does not use it).
booted = {}


@pytest.fixture(scope="session")
def educa_stack(request, tmp_path_factory, educa_stack_settings):
    """The production stack, booted once for the session and removed at its end."""
    checkout = Path(request.config.getoption("--educa-checkout")).resolve()
    if not (checkout / "docker-compose.yml").is_file():
        pytest.fail(f"--educa-checkout {checkout} has no docker-compose.yml", pytrace=False)
    running = boot_stack(tmp_path_factory.mktemp("educa-stack"), checkout=checkout, **educa_stack_settings)
    booted["educa_stack"] = running
    yield running
    booted.pop("educa_stack", None)
    running.remove()
