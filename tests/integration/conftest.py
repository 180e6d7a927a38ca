"""Fixtures of the integration layer: PostgreSQL and Redis in containers.

Containers, the migrated database and the server process are started once per
session and removed by their finalizers (testcontainers' reaper is not used:
its image cannot be pulled without a registry).

Two ways of reaching the services, because the whole suite shares one pytest
session whose Django database is SQLite:

- PostgreSQL through real processes: ``manage.py`` and Daphne run with
  ``educa.settings.prod`` pointed at the container, and the tests drive them
  over HTTP and look into the database with psycopg.
- Redis in-process: the production settings module is evaluated against the
  container and its CACHES and CHANNEL_LAYERS are installed with
  ``override_settings``, so the real option names reach redis-py.
"""

import dataclasses
import os
import uuid

import psycopg
import pytest
import redis
from django.test import override_settings

from tests.support.processes import DaphneServer, UwsgiServer, manage, production_settings
from tests.support.stack import CONTAINER_LABEL, OWNER_LABEL

POSTGRES_IMAGE = "postgres:17"
REDIS_IMAGE = "redis:8.0"
REDIS_PASSWORD = "integration-redis-password"
# The server process gets its own Redis databases, so in-process tests can
# empty theirs without touching what the server cached.
SERVER_REDIS_DBS = {"REDIS_CACHE_DB": "2", "REDIS_CHANNEL_LAYER_DB": "3"}
# remove_leftovers() finds containers of killed runs by these labels
CONTAINER_LABELS = {CONTAINER_LABEL: "integration", OWNER_LABEL: str(os.getpid())}
# Passwords of the accounts made over HTTP; Django's validators must accept it.
TEST_PASSWORD = "Integration-pass-" + uuid.uuid4().hex[:8]


def _start(container):
    """Start ``container``; remove it again if it does not come up."""
    try:
        container.start()
    except BaseException:
        container.stop()
        raise
    return container


def redis_container(*server_args):
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy

    return (
        DockerContainer(
            REDIS_IMAGE,
            command=["redis-server", "--requirepass", REDIS_PASSWORD, "--save", "", *server_args],
            labels=CONTAINER_LABELS,
        )
        .with_exposed_ports(6379)
        .waiting_for(LogMessageWaitStrategy("Ready to accept connections").with_startup_timeout(60))
    )


@dataclasses.dataclass
class RedisService:
    container: object
    host: str
    port: int
    scheme: str = "redis"

    @classmethod
    def started(cls, container, scheme="redis"):
        _start(container)
        return cls(
            container, container.get_container_host_ip(), int(container.get_exposed_port(6379)), scheme
        )

    def env(self, host=None, **extra):
        """The variables production reads to find this server (password separately, as in the stack)."""
        return {
            "REDIS_URL": f"{self.scheme}://{host or self.host}:{self.port}",
            "REDIS_PASSWORD": REDIS_PASSWORD,
            **extra,
        }

    def client(self, db=0, **kwargs):
        """A direct redis-py client, for looking into the server."""
        return redis.Redis(host=self.host, port=self.port, db=db, password=REDIS_PASSWORD, **kwargs)

    def stop(self):
        self.container.stop()


@pytest.fixture(scope="session")
def redis_server(integration_prerequisites):
    """A plain Redis with a password, as in the production stack."""
    service = RedisService.started(redis_container())
    yield service
    service.stop()


@pytest.fixture(scope="session")
def postgres(integration_prerequisites):
    from testcontainers.community.postgres import PostgresContainer

    container = _start(
        PostgresContainer(
            POSTGRES_IMAGE,
            username="educa",
            password="integration-db-password",
            dbname="educa",
            driver=None,
            labels=CONTAINER_LABELS,
        )
    )
    yield container
    container.stop()


def postgres_env(container, dbname=None):
    return {
        "POSTGRES_DB": dbname or container.dbname,
        "POSTGRES_USER": container.username,
        "POSTGRES_PASSWORD": container.password,
        "POSTGRES_HOST": container.get_container_host_ip(),
        "POSTGRES_PORT": str(container.get_exposed_port(5432)),
    }


def connect(container, dbname=None, **kwargs):
    """A psycopg connection to the test database (autocommit), for assertions."""
    return psycopg.connect(
        host=container.get_container_host_ip(),
        port=container.get_exposed_port(5432),
        user=container.username,
        password=container.password,
        dbname=dbname or container.dbname,
        autocommit=True,
        **kwargs,
    )


def insert_course(connection, slug, modules=()):
    """Insert an owner, a subject, a course and its modules with SQL alone; return their ids.

    For tests that must write what Django would refuse (two modules at one
    position). ``modules`` is a list of (title, position).
    """
    with connection.transaction():
        owner = connection.execute(
            "INSERT INTO auth_user (username, password, is_superuser, first_name, last_name, email, "
            "is_staff, is_active, date_joined) "
            "VALUES (%s, '!', false, '', '', '', false, true, now()) RETURNING id",
            [f"{slug}-owner"],
        ).fetchone()[0]
        subject = connection.execute(
            "INSERT INTO courses_subject (title, slug) VALUES (%s, %s) RETURNING id", [slug, slug]
        ).fetchone()[0]
        course = connection.execute(
            "INSERT INTO courses_course (owner_id, subject_id, title, slug, overview, created) "
            "VALUES (%s, %s, %s, %s, '-', now()) RETURNING id",
            [owner, subject, slug, slug],
        ).fetchone()[0]
        module_ids = [
            connection.execute(
                'INSERT INTO courses_module (course_id, title, description, "order") '
                "VALUES (%s, %s, '', %s) RETURNING id",
                [course, title, position],
            ).fetchone()[0]
            for title, position in modules
        ]
    return {"owner": owner, "subject": subject, "course": course, "modules": module_ids}


def delete_course(connection, ids):
    """Remove what ``insert_course`` made (the database's foreign keys do not cascade; Django does)."""
    with connection.transaction():
        connection.execute("DELETE FROM courses_module WHERE course_id = %s", [ids["course"]])
        connection.execute("DELETE FROM courses_course WHERE id = %s", [ids["course"]])
        connection.execute("DELETE FROM courses_subject WHERE id = %s", [ids["subject"]])
        connection.execute("DELETE FROM auth_user WHERE id = %s", [ids["owner"]])


@pytest.fixture(scope="session")
def prod_env(postgres, redis_server, tmp_path_factory):
    """The environment of every production process started by the tests."""
    files = tmp_path_factory.mktemp("prod-files")
    return {
        **postgres_env(postgres),
        **redis_server.env(**SERVER_REDIS_DBS),
        "STATIC_ROOT": str(files / "static"),
        "MEDIA_ROOT": str(files / "media"),
    }


@pytest.fixture(scope="session")
def migrated_database(prod_env):
    """The container's database after ``migrate`` from zero and ``collectstatic``.

    Both run with Redis unreachable, as the one-shot deploy step must be able
    to. Returns the output of ``migrate`` for the tests that look at it.
    """
    without_redis = {**prod_env, "REDIS_URL": "redis://127.0.0.1:1"}
    migrate = manage(without_redis, "migrate", "--noinput")
    manage(without_redis, "collectstatic", "--noinput")
    return migrate


@pytest.fixture(scope="session")
def db_connection(postgres, migrated_database):
    with connect(postgres) as connection:
        yield connection


@dataclasses.dataclass
class InstructorAccount:
    username: str
    password: str
    subject_id: int


@pytest.fixture(scope="session")
def instructor_account(prod_env, db_connection):
    """An instructor "ines" (in the Instructors group) and a subject for her courses."""
    manage(
        prod_env,
        "create_instructor",
        "ines",
        "--email",
        "ines@example.com",
        "--password",
        TEST_PASSWORD,
        "--subject",
        "mathematics=Mathematics",
    )
    subject = db_connection.execute("SELECT id FROM courses_subject WHERE slug = 'mathematics'").fetchone()[0]
    return InstructorAccount("ines", TEST_PASSWORD, subject)


@pytest.fixture(scope="session")
def educa_server(prod_env, migrated_database, tmp_path_factory):
    """Daphne serving educa with production settings, ready (``/readyz`` is 200)."""
    server = DaphneServer(prod_env, tmp_path_factory.mktemp("daphne") / "daphne.log").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def uwsgi_server(prod_env, migrated_database, tmp_path_factory):
    """uWSGI with four worker processes: requests really run at the same time."""
    server = UwsgiServer(prod_env, tmp_path_factory.mktemp("uwsgi") / "uwsgi.log").start()
    yield server
    server.stop()


# --- Redis in-process --------------------------------------------------------


def redis_settings_for(service, host=None, **env):
    """CACHES and CHANNEL_LAYERS as production builds them for ``service`` (plus ``env``)."""
    namespace = production_settings(
        {"POSTGRES_DB": "unused", "POSTGRES_USER": "unused", "POSTGRES_PASSWORD": "unused"}
        | service.env(host=host, **env)
    )
    return {"CACHES": namespace["CACHES"], "CHANNEL_LAYERS": namespace["CHANNEL_LAYERS"]}


@pytest.fixture
def redis_backed(redis_server):
    """Cache and channel layer of this test in the Redis container, both databases emptied.

    The Django database stays the session's SQLite: rows are rolled back after
    each test and their ids reused, so what one test cached must not be seen by
    the next.
    """
    for db in (0, 1):
        with redis_server.client(db) as client:
            client.flushdb()
    configured = redis_settings_for(redis_server)
    with override_settings(**configured):
        yield configured


@pytest.fixture(scope="session")
def tls_files(redis_server, tmp_path_factory):
    """A CA made by the test, a server certificate signed by it, and an unrelated CA.

    The certificate names "localhost" and the address the tests reach
    containers through (the same for every container of this engine).
    """
    import trustme

    directory = tmp_path_factory.mktemp("redis-tls")
    names = sorted({"localhost", redis_server.host})
    ca = trustme.CA()
    server_cert = ca.issue_cert(*names)
    files = {
        "ca": directory / "ca.pem",
        "cert": directory / "server.pem",
        "key": directory / "server.key",
        "wrong_ca": directory / "wrong-ca.pem",
    }
    ca.cert_pem.write_to_path(files["ca"])
    server_cert.cert_chain_pems[0].write_to_path(files["cert"])
    server_cert.private_key_pem.write_to_path(files["key"])
    trustme.CA().cert_pem.write_to_path(files["wrong_ca"])
    # Mounted read-only into the container, where Redis runs as its own user.
    directory.chmod(0o755)
    for path in files.values():
        path.chmod(0o644)
    return {**files, "names": names}


@pytest.fixture(scope="session")
def redis_tls(tls_files):
    """Redis answering TLS only (plain port closed), with the certificate from ``tls_files``."""
    mount = "/etc/redis-tls"
    container = redis_container(
        "--port",
        "0",
        "--tls-port",
        "6379",
        "--tls-cert-file",
        f"{mount}/server.pem",
        "--tls-key-file",
        f"{mount}/server.key",
        "--tls-ca-cert-file",
        f"{mount}/ca.pem",
        "--tls-auth-clients",
        "no",
    ).with_volume_mapping(str(tls_files["ca"].parent), mount, "ro")
    service = RedisService.started(container, scheme="rediss")
    yield service
    service.stop()
