"""A Redis that is down: pages keep working uncached, /readyz says what is wrong.

The cache is an optimisation. With Redis stopped, refusing connections or
hanging, every page must still render from the database (and log why it is
slow); only the readiness probe reports the failure. How long the pages took
is printed (run with ``-s`` to see it), not asserted: it depends on the machine.
"""

import logging
import time

import pytest
from django.test import override_settings

from tests.support.system import free_port

from .conftest import RedisService, redis_container, redis_settings_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def doomed_redis(integration_prerequisites):
    """A Redis of this test's own, to be stopped or frozen by it."""
    service = RedisService.started(redis_container())
    yield service
    service.stop()


@pytest.fixture
def nothing_listening():
    """A Redis address where no server listens (the port was free a moment ago)."""
    return RedisService(container=None, host="127.0.0.1", port=free_port())


@pytest.fixture
def course_pages(make_course, make_user):
    """A course with a module, an enrolled student, and the pages that show them."""
    student = make_user("ana")
    course = make_course("Algebra", modules=["Vectors"], students=[student])
    module = course.modules.get()
    return {
        "student": student,
        "course": course,
        "anonymous": ["/", "/course/subject/programming/", f"/course/{course.slug}/", "/api/courses/"],
        "student_only": [
            f"/students/course/{course.pk}/{module.pk}/",
            f"/api/courses/{course.pk}/contents/",
        ],
    }


def timed_get(client, path):
    started = time.perf_counter()
    response = client.get(path)
    return response, time.perf_counter() - started


def get_every_page(client, pages, label):
    """GET each page as visitor then as the enrolled student; all must be 200. Prints timings."""
    responses = {}
    for path in pages["anonymous"]:
        responses[path], elapsed = timed_get(client, path)
        print(f"{label}: GET {path} -> {responses[path].status_code} in {elapsed:.3f}s")
    client.force_login(pages["student"])
    for path in pages["student_only"]:
        responses[path], elapsed = timed_get(client, path)
        print(f"{label}: GET {path} (student) -> {responses[path].status_code} in {elapsed:.3f}s")
    client.logout()
    failing = {
        path: response.status_code for path, response in responses.items() if response.status_code != 200
    }
    assert not failing, f"pages failed with Redis {label}: {failing}"
    return responses


def cache_warnings(caplog):
    return [
        record
        for record in caplog.records
        if record.name == "courses.cache" and record.levelno == logging.WARNING
    ]


def assert_not_ready_because_of_redis(client):
    response, elapsed = timed_get(client, "/readyz")
    print(f"GET /readyz -> {response.status_code} in {elapsed:.3f}s: {response.content.decode()}")
    body = response.json()
    assert response.status_code == 503
    assert "cache" in body["failing"]
    assert "channel_layer" in body["failing"]
    assert body["checks"]["database"] == "ok"


def test_a_stopped_redis_leaves_the_pages_working_uncached(doomed_redis, client, course_pages, caplog):
    with override_settings(**redis_settings_for(doomed_redis)):
        get_every_page(client, course_pages, "up")
        assert client.get("/readyz").status_code == 200
        assert not cache_warnings(caplog)

        doomed_redis.container.get_wrapped_container().stop(timeout=2)
        # Written while the cache is away: only an uncached page can show it.
        course_pages["course"].title = "Linear algebra"
        course_pages["course"].save()
        responses = get_every_page(client, course_pages, "stopped")

        assert "Linear algebra" in responses["/"].content.decode()
        assert cache_warnings(caplog), "the failing cache was not logged"
        assert_not_ready_because_of_redis(client)


def test_no_redis_at_all_is_reported_by_readyz_only(nothing_listening, client, course_pages, caplog):
    with override_settings(**redis_settings_for(nothing_listening)):
        get_every_page(client, course_pages, "absent")
        assert_not_ready_because_of_redis(client)

    assert cache_warnings(caplog)


def test_a_hanging_redis_costs_time_but_no_errors(doomed_redis, client, course_pages, caplog):
    """Redis accepts connections but never answers (frozen), with a short REDIS_TIMEOUT.

    The first cache call gives up after the timeout; the process then leaves
    the cache alone for a few seconds, so the page is served from the database
    without paying a timeout per cache call.
    """
    with override_settings(**redis_settings_for(doomed_redis, REDIS_TIMEOUT="0.2")):
        assert client.get("/").status_code == 200
        doomed_redis.container.get_wrapped_container().pause()
        try:
            response, elapsed = timed_get(client, "/")
        finally:
            doomed_redis.container.get_wrapped_container().unpause()

    print(f"frozen (REDIS_TIMEOUT=0.2): GET / -> {response.status_code} in {elapsed:.3f}s")
    assert response.status_code == 200
    assert "Algebra" in response.content.decode()
    assert cache_warnings(caplog)


def test_an_edit_made_while_redis_was_away_is_not_hidden_by_stale_pages(
    doomed_redis, client, course_pages, caplog, monkeypatch
):
    """The invalidation written during an outage is lost; the stale page must not come back."""
    import courses.cache

    monkeypatch.setattr(courses.cache, "RETRY_AFTER", 0.5)
    with override_settings(**redis_settings_for(doomed_redis, REDIS_TIMEOUT="0.2")):
        assert "Algebra" in client.get("/").content.decode()  # cached now
        container = doomed_redis.container.get_wrapped_container()
        container.pause()
        try:
            course_pages["course"].title = "Linear algebra"
            course_pages["course"].save()  # its invalidation cannot reach Redis
            assert "Linear algebra" in client.get("/").content.decode()
        finally:
            container.unpause()
        time.sleep(0.6)  # past RETRY_AFTER: the cache is tried again
        page = client.get("/").content.decode()

    assert "Linear algebra" in page, "the page cached before the outage came back"
    assert any("invalidations were lost" in record.getMessage() for record in cache_warnings(caplog))
