"""``<course-slug>.<SITE_DOMAIN>`` redirects to the course; every other host is served normally."""

import pytest

from courses.middleware import course_subdomain
from courses.models import Course, Subject

pytestmark = [pytest.mark.unit, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def site(settings):
    settings.SITE_DOMAIN = "educa.test"
    settings.ALLOWED_HOSTS = [".educa.test", "localhost", "127.0.0.1", "10.0.0.5", "[::1]", "other.example"]


@pytest.fixture
def course(make_user):
    subject = Subject.objects.create(title="Mathematics", slug="mathematics")
    return Course.objects.create(
        owner=make_user("teacher"), subject=subject, title="Algebra", slug="algebra", overview="."
    )


def test_course_subdomain_redirects_to_the_course(client, course):
    response = client.get("/", HTTP_HOST="algebra.educa.test")

    assert response.status_code == 302
    assert response["Location"] == "http://educa.test/course/algebra/"


def test_redirect_keeps_the_scheme_and_port(client, course):
    response = client.get("/anything/", HTTP_HOST="algebra.educa.test:8443", secure=True)

    assert response.status_code == 302
    assert response["Location"] == "https://educa.test:8443/course/algebra/"


def test_host_names_are_case_insensitive(client, course):
    response = client.get("/", HTTP_HOST="ALGEBRA.Educa.Test")

    assert response["Location"] == "http://educa.test/course/algebra/"


@pytest.mark.parametrize("host", ["nothing.educa.test", "deep.algebra.educa.test"])
def test_a_subdomain_that_is_no_course_is_404(client, course, host):
    response = client.get("/", HTTP_HOST=host)

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


@pytest.mark.parametrize(
    "host",
    [
        "educa.test",
        "www.educa.test",
        "educa.test:8000",
        "localhost",
        "127.0.0.1",
        "10.0.0.5:8000",
        "[::1]",
        "other.example",
    ],
)
def test_the_site_itself_is_served_normally(client, course, host):
    response = client.get("/", HTTP_HOST=host)

    assert response.status_code == 200
    assert "Algebra" in response.content.decode()


def test_course_pages_are_served_on_the_bare_domain(client, course):
    assert client.get("/course/algebra/", HTTP_HOST="educa.test").status_code == 200


def test_a_host_not_allowed_is_still_a_400(client, course):
    assert client.get("/", HTTP_HOST="algebra.evil.example").status_code == 400


@pytest.mark.parametrize(
    ("domain", "site", "expected"),
    [
        ("algebra.localhost", "localhost", "algebra"),
        ("localhost", "localhost", None),
        ("www.example.com", "example.com", None),
        ("example.com.", "example.com", None),
        ("algebra.example.com.", "example.com", "algebra"),
        ("notexample.com", "example.com", None),
        ("1.2.3.4", "2.3.4", None),
        ("[2001:db8::1]", "example.com", None),
        ("algebra.example.com", "", None),
    ],
)
def test_course_subdomain(domain, site, expected):
    assert course_subdomain(domain, site) == expected
