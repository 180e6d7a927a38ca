"""Every secret of a running deployment rotated as docs/operations.md says: nobody signed out, nothing lost.

A stack of its own, since the rotation recreates every container and, once
the old key is retired, signs out the sessions it signed.
"""

import secrets

import pytest

from tests.support.journeys import chat_round_trip, enrolled_student, load_demo_courses, signed_in
from tests.support.stack import boot_stack
from tests.support.system import wait_until

pytestmark = pytest.mark.stack

COUNTS = (
    "select (select count(*) from auth_user) || ' users, ' || "
    "(select count(*) from courses_course_students) || ' enrolments, ' || "
    "(select count(*) from chat_message) || ' messages'"
)


@pytest.fixture(scope="module")
def rotating_stack(tmp_path_factory):
    stack = boot_stack(tmp_path_factory.mktemp("rotation"))
    yield stack
    stack.remove()


def signed_in_still(stack, client):
    answer = client.get(f"{stack.base_url}/students/courses/", allow_redirects=False, timeout=30)
    return answer.status_code == 200


def test_every_secret_rotates_without_signing_anybody_out_or_losing_data(rotating_stack):
    stack = rotating_stack
    load_demo_courses(stack)
    chat_round_trip(stack)
    active, active_client, _ = enrolled_student(stack, "active")
    idle, idle_client, _ = enrolled_student(stack, "idle")
    before = stack.psql(COUNTS)

    # One deploy rotates all three: the database's password is changed in
    # PostgreSQL first (it keeps its own copy), then everything goes in .env.
    old_key = stack.env["SECRET_KEY"]
    new_database_password = secrets.token_hex(24)
    stack.exec(
        "db", "psql", "-U", "postgres", "-d", stack.env["POSTGRES_DB"], "-v", "ON_ERROR_STOP=1",
        "-c", f"ALTER ROLE {stack.env['POSTGRES_USER']} PASSWORD '{new_database_password}'",
    )  # fmt: skip
    stack.env.update(
        SECRET_KEY=secrets.token_hex(48),
        SECRET_KEY_FALLBACKS=old_key,
        POSTGRES_PASSWORD=new_database_password,
        REDIS_PASSWORD=secrets.token_hex(24),
    )
    stack.write_env()
    stack.up("--force-recreate")

    # Django accepts the session signed with the old key and moves it to the new one.
    assert signed_in_still(stack, active_client), "the rotation signed the student out"
    assert stack.psql(COUNTS) == before
    status, body = stack.readiness()
    assert status == 200, body
    chat_round_trip(stack)  # the new Redis password, through the channel layer

    # Later the old key is retired: who came back meanwhile stays signed in,
    # a session still signed with the old key alone is not accepted any more.
    stack.env["SECRET_KEY_FALLBACKS"] = ""
    stack.write_env()
    stack.up("--force-recreate")
    assert signed_in_still(stack, active_client)
    assert not signed_in_still(stack, idle_client), "a session signed with the retired key still works"
    assert signed_in_still(stack, signed_in(stack, idle))


def test_a_redis_password_the_application_lacks_shows_in_compose_ps_with_the_reason(rotating_stack):
    """Redis recreated with a password the application was not given: pages still answer
    (the cache steps aside), but the chat cannot work, and `docker compose ps` says so."""
    stack = rotating_stack
    right = stack.env["REDIS_PASSWORD"]
    stack.env["REDIS_PASSWORD"] = secrets.token_hex(24)
    stack.write_env()
    stack.compose("up", "-d", "--no-deps", "--force-recreate", "--wait", "cache")
    try:
        wait_until(lambda: stack.health("daphne")[0] == "unhealthy", 30, "daphne unhealthy", pause=1)
        [daphne] = [c for c in stack.containers() if c["Service"] == "daphne"]
        assert "unhealthy" in daphne["Status"]
        assert "channel_layer" in stack.health("daphne")[1]
        assert "readiness check channel_layer failed" in stack.logs("daphne", tail=50)
        assert stack.health("web")[0] == "healthy"
        assert stack.client().get(f"{stack.base_url}/", timeout=30).status_code == 200
    finally:
        stack.env["REDIS_PASSWORD"] = right
        stack.write_env()
        stack.compose("up", "-d", "--no-deps", "--force-recreate", "--wait", "cache")
    wait_until(lambda: stack.health("daphne")[0] == "healthy", 60, "daphne healthy again", pause=1)
    chat_round_trip(stack)
