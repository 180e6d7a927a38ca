"""The stack with Redis over TLS, and what survives taking the stack down and up.

This module boots a stack of its own (the production file plus the Redis TLS
overlay), because its last test stops and restarts every service. The
certificates are made here with trustme, for the host name the application
connects to (``cache``), and verification stays on.
"""

import os
import time

import pytest

from tests.support.journeys import chat_round_trip, load_demo_courses, signed_in
from tests.support.stack import boot_stack

pytestmark = pytest.mark.stack

TLS_FILES = ("docker-compose.yml", "docker-compose.tls.yml")
REDIS_UID = 999  # the redis user of the redis image


def write_redis_tls_dir(path):
    """ca.crt, redis.crt (for DNS:cache) and redis.key, as docker-compose.tls.yml expects them."""
    import trustme

    ca = trustme.CA()
    server = ca.issue_cert("cache")
    path.mkdir()
    ca.cert_pem.write_to_path(str(path / "ca.crt"))
    with open(path / "redis.crt", "wb") as chain:
        for pem in server.cert_chain_pems:
            chain.write(pem.bytes())
    server.private_key_pem.write_to_path(str(path / "redis.key"))
    # The directory is mounted into the containers: the app user reads ca.crt,
    # only the redis user reads the key.
    path.chmod(0o755)
    (path / "ca.crt").chmod(0o644)
    (path / "redis.crt").chmod(0o644)
    key = path / "redis.key"
    if os.geteuid() == 0:
        os.chown(key, REDIS_UID, REDIS_UID)
        key.chmod(0o600)
    else:  # cannot give it away: let everyone read this throwaway key instead
        key.chmod(0o644)
    return path


@pytest.fixture(scope="module")
def tls_stack(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("tls-stack")
    tls_dir = write_redis_tls_dir(workdir / "redis-tls")
    running = boot_stack(workdir, compose_files=TLS_FILES, REDIS_TLS_DIR=str(tls_dir))
    load_demo_courses(running)
    yield running
    running.remove()


def container_env(stack, service):
    output = stack.exec(service, "env").stdout
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


def test_cache_and_channel_layer_talk_tls_with_verification(tls_stack):
    """With the TLS overlay the site is ready, every Redis client verifies the server's certificate,
    and Redis speaks no plaintext at all."""
    for service in ("web", "daphne"):
        env = container_env(tls_stack, service)
        assert env["REDIS_URL"].startswith("rediss://"), env["REDIS_URL"]
        assert env["REDIS_SSL_CERT_REQS"] == "required"
        assert env["REDIS_SSL_CA_CERTS"]

    status, body = tls_stack.readiness()
    assert status == 200, body
    assert body["checks"] == {"database": "ok", "cache": "ok", "channel_layer": "ok"}

    # Redis has no plaintext port: a client without TLS gets nowhere.
    plain = tls_stack.exec("cache", "redis-cli", "-h", "cache", "-p", "6379", "ping", check=False)
    assert "PONG" not in plain.stdout


def test_chat_works_over_redis_tls(tls_stack):
    """The live chat, whose messages travel through the channel layer, works with Redis over TLS."""
    chat = chat_round_trip(tls_stack)
    assert set(chat["messages"]) <= set(tls_stack.psql("select content from chat_message").splitlines())


def test_data_survives_down_and_up(tls_stack):
    """Taking the stack down and up again (a redeploy, a reboot) keeps accounts, enrolments and chat history.

    Sessions live in PostgreSQL too, so nobody is signed out by it.
    """
    chat = chat_round_trip(tls_stack)
    course, username, old_session = chat["course"], chat["username"], chat["client"]

    started = time.monotonic()
    tls_stack.down()  # no --volumes: what an operator does to restart
    assert tls_stack.containers() == []
    tls_stack.up()
    tls_stack.wait_ready()
    print(f"\ndown and up again in {time.monotonic() - started:.1f}s")

    session = signed_in(tls_stack, username)
    mine = session.get(f"{tls_stack.base_url}/students/courses/", timeout=30)
    assert mine.status_code == 200
    assert "Python from scratch" in mine.text

    room = session.get(f"{tls_stack.base_url}/chat/room/{course}/", timeout=30)
    assert room.status_code == 200
    for text in chat["messages"]:
        assert text in room.text

    # the cookie from before the restart still works
    player = old_session.get(
        f"{tls_stack.base_url}/students/course/{course}/", allow_redirects=False, timeout=30
    )
    assert player.status_code == 200
    assert "Getting started" in player.text
