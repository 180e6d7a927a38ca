"""One compromise stays one: the application's database role, Redis user and networks.

Each test performs what an attacker who holds that piece would try next,
with the application's own credentials, from where the application (or
NGINX) runs.
"""

import json
import subprocess

import pytest

pytestmark = pytest.mark.stack

# Run in the web container with the application's settings: each command
# through the cache's own Redis connection, then a login as Redis's default
# user with the same password.
REDIS_AS_THE_APPLICATION = """
import json, redis
from django.conf import settings
from django.core.cache import cache
client = cache._cache.get_client(write=True)
answers = {}
for command in (("FLUSHALL",), ("CONFIG", "GET", "dir"), ("DEBUG", "SLEEP", "0"), ("KEYS", "*"),
                ("SET", "educa:least-privilege", "1"), ("GET", "educa:least-privilege")):
    try:
        answers[" ".join(command)] = repr(client.execute_command(*command))
    except redis.exceptions.RedisError as refused:
        answers[" ".join(command)] = f"refused: {refused}"
cache.clear()  # the breaker empties the cache after an outage: FLUSHDB is allowed
answers["cache.clear()"] = "ok"
password = settings.CACHES["default"]["OPTIONS"]["password"]
for login in ({"password": password}, {}):
    try:
        redis.Redis(host="cache", socket_timeout=5, **login).ping()
        answers[f"default user {sorted(login)}"] = "PONG"
    except redis.exceptions.RedisError as refused:
        answers[f"default user {sorted(login)}"] = f"refused: {refused}"
print(json.dumps(answers))
"""

# Run in the web container: the superuser, over the network, with the
# application's database password.
SUPERUSER_FROM_THE_APPLICATION = """
import psycopg, sys
password = open("/run/secrets/postgres_password").read()
try:
    psycopg.connect(host="db", user="postgres", dbname="postgres", password=password, connect_timeout=5)
except psycopg.OperationalError as refused:
    print(refused)
    sys.exit(3)
"""


def test_the_applications_database_role_owns_its_database_and_nothing_more(stack):
    attributes = stack.psql(
        "select rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls "
        "from pg_roles where rolname = current_user"
    )
    assert attributes == "f|f|f|f|f", f"superuser|createrole|createdb|replication|bypassrls: {attributes}"
    owner = stack.psql("select pg_get_userbyid(datdba) from pg_database where datname = current_database()")
    assert owner == stack.env["POSTGRES_USER"]
    # the migrations ran as this role, so it owns every table they made
    tables = stack.psql("select count(*) from pg_tables where schemaname = 'public'")
    foreign = stack.psql(
        "select count(*) from pg_tables where schemaname = 'public' and tableowner <> current_user"
    )
    assert int(tables) > 10 and foreign == "0"


def test_copy_to_program_is_refused_to_the_application(stack):
    """As a superuser, `COPY ... TO PROGRAM` runs a shell command in the db container."""
    result = stack.exec(
        "db", "psql", "-U", stack.env["POSTGRES_USER"], "-d", stack.env["POSTGRES_DB"],
        "-c", "COPY (SELECT 1) TO PROGRAM 'id > /tmp/owned'", check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "permission denied" in result.stderr and "pg_execute_server_program" in result.stderr
    assert stack.exec("db", "test", "-e", "/tmp/owned", check=False).returncode != 0


def test_the_superuser_cannot_log_in_over_the_network(stack):
    """The application's password (or none) does not open the superuser over TCP."""
    result = stack.exec("web", "python", "-c", SUPERUSER_FROM_THE_APPLICATION, check=False)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "password authentication failed" in result.stdout


def test_the_applications_redis_user_may_not_run_dangerous_commands(stack):
    answers = json.loads(
        stack.manage("shell", "-c", REDIS_AS_THE_APPLICATION).stdout.strip().splitlines()[-1]
    )
    print(json.dumps(answers, indent=2))
    for command in ("FLUSHALL", "CONFIG GET dir", "KEYS *"):
        assert answers[command].startswith("refused: ") and "no permissions" in answers[command], answers
    # Redis refuses DEBUG to every network client before its ACL is asked
    assert answers["DEBUG SLEEP 0"].startswith("refused: "), answers
    # what the application needs still works
    assert answers["SET educa:least-privilege 1"] == "True"
    assert answers["GET educa:least-privilege"] == "b'1'"
    assert answers["cache.clear()"] == "ok"
    # Redis's default user is off: neither the password nor no password opens it
    assert "invalid username-password pair" in answers["default user ['password']"], answers
    assert answers["default user []"].startswith("refused: "), answers


def container_address(stack, service, network):
    """The IPv4 address of a service's container on one of the stack's networks."""
    container = next(c for c in stack.containers() if c["Service"] == service)
    result = subprocess.run(
        ["docker", "inspect", "--format", "{{json .NetworkSettings.Networks}}", container["ID"]],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    return json.loads(result.stdout)[f"{stack.project}_{network}"]["IPAddress"]


@pytest.mark.parametrize(("service", "port"), [("db", 5432), ("cache", 6379)])
def test_nginx_cannot_reach_the_data(stack, service, port):
    """From NGINX's network namespace the database and Redis have no name and no route;
    the application beside it reaches both (the control)."""
    address = container_address(stack, service, "backend")
    for target in (service, address):
        result = stack.exec(
            "nginx", "curl", "-sS", "--connect-timeout", "3", "--max-time", "5", f"telnet://{target}:{port}",
            check=False,
        )  # fmt: skip
        assert result.returncode in (6, 7, 28), (
            f"NGINX reached {service} at {target}:{port}: curl exit {result.returncode} {result.stderr}"
        )
    reach = f"import socket; socket.create_connection(({address!r}, {port}), timeout=5).close(); print('ok')"
    assert stack.exec("web", "python", "-c", reach).stdout.strip() == "ok"
