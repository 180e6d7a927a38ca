"""After a change, the pages NGINX caches for anonymous visitors are rendered again.

A small HTTP server on 127.0.0.1 stands in for NGINX's refresh server and
records what the application asks it for; the stack layer
(tests/stack/test_page_cache.py) proves the same against NGINX itself.
"""

import http.server
import threading

import pytest
from django.db import transaction
from django.urls import reverse

from courses.models import Course, Module, Subject

pytestmark = [pytest.mark.unit, pytest.mark.django_db]


class RefreshServer(http.server.ThreadingHTTPServer):
    """Answers every GET with 200 and keeps (path, Host header) of each."""

    def __init__(self):
        self.seen = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.seen.append((self.path, self.headers["Host"]))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def paths(self):
        return sorted(path for path, _ in self.seen)


@pytest.fixture
def refresh_server(settings):
    server = RefreshServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.PAGE_CACHE_REFRESH_URL = f"http://127.0.0.1:{server.server_address[1]}"
    settings.SITE_DOMAIN = "educa.example.com"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def catalogue(instructor):
    programming = Subject.objects.create(title="Programming", slug="programming")
    Subject.objects.create(title="Music", slug="music")
    course = Course.objects.create(
        owner=instructor, subject=programming, title="Django", slug="django", overview="Build sites."
    )
    return course


def every_page(*course_slugs):
    return sorted(
        [
            "/",
            "/course/subject/music/",
            "/course/subject/programming/",
            *(f"/course/{slug}/" for slug in course_slugs),
        ]
    )


def test_a_change_refreshes_the_catalogue_the_subjects_and_the_course(
    refresh_server, catalogue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        catalogue.title = "Django in depth"
        catalogue.save()
    assert refresh_server.paths == every_page("django")
    # under the site's own name, which NGINX caches the pages under
    assert {host for _, host in refresh_server.seen} == {"educa.example.com"}


# Real commits: a request's changes are collected as each one commits.
@pytest.mark.django_db(transaction=True)
def test_one_request_refreshes_each_page_once(refresh_server, catalogue, client, instructor):
    """A formset saving several modules makes many changes and one refresh."""
    client.force_login(instructor)
    refresh_server.seen.clear()  # what making the course refreshed
    response = client.post(
        reverse("course_module_update", args=[catalogue.pk]),
        {
            "modules-TOTAL_FORMS": "3",
            "modules-INITIAL_FORMS": "0",
            "modules-MIN_NUM_FORMS": "0",
            "modules-MAX_NUM_FORMS": "1000",
            **{f"modules-{number}-title": f"Part {number}" for number in range(3)},
            **{f"modules-{number}-description": "Reading." for number in range(3)},
        },
    )
    assert response.status_code == 302, response.content[:2000]
    assert Module.objects.filter(course=catalogue).count() == 3
    assert refresh_server.paths == every_page("django")


def test_nothing_is_refreshed_for_a_change_rolled_back(
    refresh_server, catalogue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        catalogue.title = "Never shown"
        catalogue.save()
        transaction.set_rollback(True)
    assert refresh_server.seen == []


@pytest.mark.django_db(transaction=True)
def test_a_refresh_server_that_is_down_is_logged_and_the_change_stands(
    refresh_server, catalogue, client, instructor, settings, caplog
):
    refresh_server.shutdown()
    refresh_server.server_close()
    client.force_login(instructor)
    response = client.post(
        reverse("course_edit", args=[catalogue.pk]),
        {"subject": catalogue.subject_id, "title": "Edited anyway", "slug": "django", "overview": "Still."},
    )
    assert response.status_code == 302
    assert Course.objects.get(pk=catalogue.pk).title == "Edited anyway"
    assert "could not refresh the cached page /course/django/" in caplog.text


def test_no_refresh_without_a_refresh_server(
    refresh_server, settings, catalogue, django_capture_on_commit_callbacks
):
    """Where no NGINX caches pages (local settings, tests), a change asks nobody."""
    settings.PAGE_CACHE_REFRESH_URL = ""
    with django_capture_on_commit_callbacks(execute=True):
        catalogue.title = "Django in depth"
        catalogue.save()
    assert refresh_server.seen == []
