"""Lists a page at a time: the catalogue, subject pages and the API, with a cost that does not grow."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from courses.catalogue import COURSES_PER_PAGE
from courses.models import Course, Module, Subject

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

API_PAGE_SIZE = 20
# A page, cold cache, anonymous: the subjects and the page's courses (the API:
# a count, the page and one prefetch).
MOST_QUERIES_PER_PAGE = 3


@pytest.fixture
def add_courses(make_user):
    """``add_courses(n)``: n more courses, half in each of two subjects, each with a module and a student."""
    owner = make_user("teacher")
    student = make_user("ana")
    subjects = [
        Subject.objects.create(title="Mathematics", slug="mathematics"),
        Subject.objects.create(title="Music", slug="music"),
    ]
    made = []

    def add(count):
        start = len(made)
        courses = Course.objects.bulk_create(
            Course(
                owner=owner,
                subject=subjects[number % 2],
                title=f"Course {number:04d}",
                slug=f"course-{number:04d}",
                overview="Learn.",
            )
            for number in range(start, start + count)
        )
        Module.objects.bulk_create(Module(course=course, title="Start", order=0) for course in courses)
        Course.students.through.objects.bulk_create(
            Course.students.through(course_id=course.pk, user_id=student.pk) for course in courses
        )
        made.extend(courses)
        return made

    return add


def queries_for(client, path):
    """Queries of one request on a cold cache, and its response."""
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, f"{path} answered {response.status_code}"
    return len(queries), response


PAGES = ["/", "/?page=2", "/course/subject/music/", "/api/courses/", "/api/courses/?page=2", "/api/subjects/"]


@pytest.mark.parametrize("path", PAGES)
def test_a_page_costs_the_same_queries_with_a_thousand_courses_as_with_fifty(client, add_courses, path):
    add_courses(50)
    with_fifty, _ = queries_for(client, path)

    add_courses(950)
    with_a_thousand, _ = queries_for(client, path)

    assert with_a_thousand == with_fifty, (
        f"{path}: {with_fifty} queries with 50 courses, {with_a_thousand} with 1,000"
    )


def test_a_page_for_a_signed_in_student_costs_the_same_too(client, add_courses):
    add_courses(50)
    client.force_login(get_user_model().objects.get(username="ana"))
    with_fifty, _ = queries_for(client, "/?page=3")

    add_courses(950)
    with_a_thousand, _ = queries_for(client, "/?page=3")

    assert with_a_thousand == with_fifty


def catalogue_slugs(html):
    return re.findall(r'href="/course/(course-\d{4})/"', html)


def test_the_catalogue_pages_hold_every_course_once_newest_first(client, add_courses):
    courses = add_courses(2 * COURSES_PER_PAGE + 5)
    newest_first = [course.slug for course in reversed(courses)]

    pages = [client.get(f"/?page={number}").content.decode() for number in (1, 2, 3)]

    assert [len(catalogue_slugs(page)) for page in pages] == [COURSES_PER_PAGE, COURSES_PER_PAGE, 5]
    assert sum((catalogue_slugs(page) for page in pages), []) == newest_first
    assert f"{len(courses)} courses · page 1 of 3" in pages[0]
    assert 'rel="next" href="?page=2"' in pages[0] and 'rel="prev"' not in pages[0]
    assert 'rel="prev" href="?page=2"' in pages[2] and 'rel="next"' not in pages[2]


def test_a_subject_page_is_paginated_within_its_subject(client, add_courses):
    add_courses(4 * COURSES_PER_PAGE)  # half of them under Music

    first = client.get("/course/subject/music/").content.decode()
    second = client.get("/course/subject/music/?page=2").content.decode()

    music = sorted(Course.objects.filter(subject__slug="music").values_list("slug", flat=True))
    assert sorted(catalogue_slugs(first) + catalogue_slugs(second)) == music
    assert client.get("/course/subject/music/?page=3").status_code == 404


@pytest.mark.parametrize("page", ["0", "4", "abc", "-1", "1.5", "9" * 40, "١"])
def test_a_page_that_does_not_exist_is_a_404_not_an_error(client, add_courses, page):
    add_courses(2 * COURSES_PER_PAGE + 1)

    assert client.get("/", {"page": page}).status_code == 404


def test_an_empty_catalogue_still_has_its_first_page(client, db):
    response = client.get("/")

    assert response.status_code == 200
    assert "There are no courses here yet." in response.content.decode()


@pytest.mark.parametrize("path", ["/api/courses/", "/api/subjects/"])
def test_api_pages_are_bounded_whatever_the_client_asks(add_courses, path):
    add_courses(3 * API_PAGE_SIZE)
    api = APIClient()

    for query in ("", "?page_size=1000", "?limit=1000", "?per_page=1000"):
        body = api.get(path + query).json()
        assert len(body["results"]) <= API_PAGE_SIZE, query

    courses = api.get("/api/courses/").json()
    assert courses["count"] == 3 * API_PAGE_SIZE and courses["next"].endswith("/api/courses/?page=2")


def test_api_course_pages_hold_every_course_once(add_courses):
    courses = add_courses(2 * API_PAGE_SIZE + 3)
    api = APIClient()

    seen = []
    url = "/api/courses/"
    while url:
        body = api.get(url).json()
        seen += [course["slug"] for course in body["results"]]
        url = body["next"]

    assert seen == [course.slug for course in reversed(courses)]
