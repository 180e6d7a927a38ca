"""What a killed test run leaves behind is removed by the next one, and nothing else is.

A run killed mid-way cannot take its stacks down (testcontainers' reaper is
not available everywhere). The plugin removes, at the start of each session,
the test projects whose run is gone. Here such leftovers are made by hand —
a container, a network and a volume labelled as a compose project of a run
that has exited — beside a developer's project and a project of a run that
is still going, and only the first are removed.
"""

import os
import subprocess
import sys

import pytest

from tests.support.prerequisites import stack_problem
from tests.support.stack import PROJECT_LABEL, PROJECT_PREFIX, remove_leftovers, remove_project

pytestmark = pytest.mark.stack

IMAGE = "python:3.13-slim"


@pytest.fixture(scope="module", autouse=True)
def docker_available():
    problem = stack_problem()
    if problem:
        pytest.fail(problem, pytrace=False)


def exited_pid():
    """The process id of a process that has already exited."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def make_project(project):
    """A running container, a network and a volume labelled as compose project ``project``."""
    label = f"{PROJECT_LABEL}={project}"
    for command in (
        ["network", "create", "--label", label, f"{project}_default"],
        ["volume", "create", "--label", label, f"{project}_data"],
        [
            "run", "-d", "--label", label, "--network", f"{project}_default",
            "-v", f"{project}_data:/data", "--entrypoint", "sleep", IMAGE, "300",
        ],
    ):  # fmt: skip
        subprocess.run(["docker", *command], check=True, capture_output=True, timeout=120)


def resources(project):
    label = f"label={PROJECT_LABEL}={project}"
    found = []
    for kind in (["ps", "-aq"], ["network", "ls", "-q"], ["volume", "ls", "-q"]):
        found += subprocess.run(
            ["docker", *kind, "--filter", label], capture_output=True, text=True, check=True
        ).stdout.split()
    return found


def test_only_the_projects_of_runs_that_are_gone_are_removed():
    dead = f"{PROJECT_PREFIX}{exited_pid()}-0dead0"
    alive = f"{PROJECT_PREFIX}{os.getpid()}-0a11be"
    developer = "educa-leftover-check"
    try:
        for project in (dead, alive, developer):
            make_project(project)
            assert len(resources(project)) == 3

        removed = remove_leftovers()

        assert dead in removed
        assert resources(dead) == [], "the killed run's container, network or volume is still there"
        assert len(resources(alive)) == 3, "the project of a run still going was touched"
        assert len(resources(developer)) == 3, "a project that is not a test's was touched"
    finally:
        for project in (dead, alive, developer):
            remove_project(project)
    assert all(resources(project) == [] for project in (dead, alive, developer))
