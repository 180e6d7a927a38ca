"""The production stack will not start with a required secret missing, and says which one.

Nothing is booted here: Compose refuses while reading the file, before any
image is built or any container, network or volume is created.
"""

import os
import subprocess

import pytest

from tests.support.prerequisites import stack_problem
from tests.support.stack import make_env, project_name
from tests.support.system import REPO

pytestmark = pytest.mark.stack

REQUIRED = ("SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD", "SITE_DOMAIN")


@pytest.fixture(scope="module", autouse=True)
def compose_available():
    problem = stack_problem()
    if problem:
        pytest.fail(problem, pytrace=False)


def compose_up(project, env_file):
    # Only the env file may supply values: none of the stack's variables is
    # inherited from whoever runs the tests.
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in REQUIRED and not key.startswith("COMPOSE_")
    }
    return subprocess.run(
        [
            "docker",
            "compose",
            "--project-name",
            project,
            "-f",
            "docker-compose.yml",
            "--env-file",
            str(env_file),
        ]
        + ["up", "-d"],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def project_resources(project):
    label = f"label=com.docker.compose.project={project}"
    found = []
    for kind in (["ps", "-a"], ["network", "ls"], ["volume", "ls"]):
        result = subprocess.run(["docker", *kind, "-q", "--filter", label], capture_output=True, text=True)
        found += result.stdout.split()
    return found


@pytest.mark.parametrize("blank", [False, True], ids=["unset", "empty"])
@pytest.mark.parametrize("name", REQUIRED)
def test_stack_refuses_to_start_without_a_required_value(tmp_path, name, blank):
    """`docker compose -f docker-compose.yml up` stops at once, names the missing value, creates nothing."""
    project = project_name()
    env_file, _ = make_env(tmp_path, project)
    lines = [line for line in env_file.read_text().splitlines() if not line.startswith(f"{name}=")]
    if blank:
        lines.append(f"{name}=")
    env_file.write_text("\n".join(lines) + "\n")

    result = compose_up(project, env_file)
    try:
        assert result.returncode != 0
        assert name in result.stderr, result.stderr
        assert "required" in result.stderr
        assert project_resources(project) == []
    finally:
        if result.returncode == 0:  # it must not have, but never leave a stack behind
            subprocess.run(
                ["docker", "compose", "--project-name", project, "-f", "docker-compose.yml"]
                + ["--env-file", str(env_file), "down", "--volumes", "--remove-orphans"],
                cwd=REPO,
                capture_output=True,
            )


def test_an_env_written_before_key_rotation_names_the_line_to_add(tmp_path):
    """SECRET_KEY_FALLBACKS may be empty but must be there: an older .env is told so."""
    project = project_name()
    env_file, _ = make_env(tmp_path, project)
    lines = [
        line for line in env_file.read_text().splitlines() if not line.startswith("SECRET_KEY_FALLBACKS=")
    ]
    env_file.write_text("\n".join(lines) + "\n")

    result = compose_up(project, env_file)
    assert result.returncode != 0
    assert (
        "SECRET_KEY_FALLBACKS is required, empty unless a previous SECRET_KEY is being retired"
        in result.stderr
    )
    assert project_resources(project) == []
