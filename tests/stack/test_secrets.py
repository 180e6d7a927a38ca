"""The stack's secrets reach the containers as files, never through `docker inspect`.

Anyone allowed to use the Docker socket can inspect a container; what
inspection shows (environment, command, healthcheck) must not include the
secrets from the env file, while the services that need them still find them
in /run/secrets.
"""

import pytest

from tests.support.stack import inspect_leaks

pytestmark = pytest.mark.stack

SECRETS = ("SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD", "EMAIL_HOST_PASSWORD")


def test_no_secret_shows_in_docker_inspect(stack):
    """No secret value is in any container's environment, command or healthcheck."""
    values = {name: stack.env[name] for name in SECRETS}
    assert all(values.values()), "the test stack must set every secret"
    services = {container["Config"]["Labels"]["com.docker.compose.service"] for container in stack.inspect()}
    assert {"web", "daphne", "migrate", "db", "cache", "nginx"} <= services
    assert inspect_leaks(stack, values) == []


@pytest.mark.parametrize(
    ("service", "names"),
    [
        ("web", SECRETS),
        ("daphne", SECRETS),
        ("db", ("POSTGRES_PASSWORD",)),
        ("cache", ("REDIS_PASSWORD",)),
    ],
)
def test_services_read_their_secrets_from_files(stack, service, names):
    """Each service that needs a secret finds it in /run/secrets (web and daphne as the app user)."""
    for name in names:
        path = f"/run/secrets/{name.lower()}"
        content = stack.exec(service, "cat", path).stdout.strip()
        assert content == stack.env[name], f"{service}: {path} does not hold {name}"


def test_the_secrets_step_runs_unprivileged(stack):
    """The one-shot step that hands out the secrets needs neither root nor capabilities."""
    (step,) = [c for c in stack.inspect() if c["Config"]["Labels"]["com.docker.compose.service"] == "secrets"]
    assert step["State"]["ExitCode"] == 0
    assert step["Config"]["User"] not in ("", "0", "root", "0:0")
    assert step["HostConfig"]["CapAdd"] in (None, [])
