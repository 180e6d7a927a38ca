"""The REST API: subjects, courses, enrolment and course contents."""

import base64

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from courses.models import Content, Course, Module, Subject, Text, Video
from tests.conftest import TEST_PASSWORD

pytestmark = [pytest.mark.unit, pytest.mark.django_db]


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def subject():
    return Subject.objects.create(title="Mathematics", slug="mathematics")


@pytest.fixture
def course(subject, make_user):
    course = Course.objects.create(
        owner=make_user("teacher"), subject=subject, title="Algebra", slug="algebra", overview="Groups."
    )
    module = Module.objects.create(course=course, title="Groups", description="Symmetry")
    Content.objects.create(
        module=module, item=Text.objects.create(owner=course.owner, title="Axioms", content="a <b>b</b>")
    )
    Content.objects.create(
        module=module,
        item=Video.objects.create(owner=course.owner, title="Talk", url="https://vimeo.com/76979871"),
    )
    return course


def test_api_urls_follow_the_contract(course):
    assert reverse("api:subject-list") == "/api/subjects/"
    assert reverse("api:course-list") == "/api/courses/"
    assert reverse("api:course-enroll", args=[course.pk]) == f"/api/courses/{course.pk}/enroll/"
    assert reverse("api:course-contents", args=[course.pk]) == f"/api/courses/{course.pk}/contents/"


def test_subjects_with_counts_and_top_courses(api, subject, make_user):
    owner = make_user("teacher")
    students = [make_user(f"s{i}") for i in range(4)]
    for index, title in enumerate(["One", "Two", "Three", "Four"]):
        course = Course.objects.create(
            owner=owner, subject=subject, title=title, slug=title.lower(), overview="."
        )
        course.students.add(*students[: index + 1])  # "Four" is the most followed
    Subject.objects.create(title="Music", slug="music")

    response = api.get("/api/subjects/")

    assert response.status_code == 200
    results = {item["slug"]: item for item in response.json()["results"]}
    assert results["music"]["total_courses"] == 0
    assert results["music"]["popular_courses"] == []
    maths = results["mathematics"]
    assert maths["total_courses"] == 4
    assert [c["title"] for c in maths["popular_courses"]] == ["Four", "Three", "Two"]
    assert maths["popular_courses"][0]["total_students"] == 4


def test_the_subject_list_costs_the_same_queries_however_many_subjects(api, make_user):
    owner = make_user("teacher")

    def add_subjects(count):
        for _ in range(count):
            number = Subject.objects.count()
            subject = Subject.objects.create(title=f"Subject {number}", slug=f"subject-{number}")
            for index in range(4):
                Course.objects.create(
                    owner=owner, subject=subject, title=f"C{index}", slug=f"c{number}-{index}", overview="."
                )

    add_subjects(1)
    with CaptureQueriesContext(connection) as few:
        assert len(api.get("/api/subjects/").json()["results"]) == 1
    add_subjects(5)
    with CaptureQueriesContext(connection) as many:
        results = api.get("/api/subjects/").json()["results"]

    assert len(results) == 6
    assert all(len(subject["popular_courses"]) == 3 for subject in results)
    assert len(many) == len(few)


def test_subject_detail(api, subject, course):
    response = api.get(f"/api/subjects/{subject.pk}/")

    assert response.status_code == 200
    assert response.json()["title"] == "Mathematics"
    assert response.json()["total_courses"] == 1
    assert api.get("/api/subjects/9999/").status_code == 404


def test_course_list_and_detail_with_modules(api, course):
    listing = api.get("/api/courses/").json()
    assert listing["count"] == 1
    assert listing["results"][0]["slug"] == "algebra"

    detail = api.get(f"/api/courses/{course.pk}/").json()
    assert detail["subject"] == "mathematics"
    assert detail["owner"] == "teacher"
    assert detail["url"] == "/course/algebra/"
    assert [m["title"] for m in detail["modules"]] == ["Groups"]
    assert "contents" not in detail["modules"][0]  # the outline is public, the contents are not


def test_unknown_course_is_404(api, make_user):
    assert api.get("/api/courses/9999/").status_code == 404
    api.force_authenticate(make_user("ana"))
    assert api.post("/api/courses/9999/enroll/").status_code == 404
    assert api.get("/api/courses/9999/contents/").status_code == 404


def test_courses_are_read_only(api, course, make_user):
    api.force_authenticate(make_user("ana"))

    assert api.post("/api/courses/", {"title": "x"}).status_code == 405
    assert api.delete(f"/api/courses/{course.pk}/").status_code == 405


def test_anonymous_cannot_enrol(api, course):
    response = api.post(f"/api/courses/{course.pk}/enroll/")

    assert response.status_code in (401, 403)
    assert not course.students.exists()


def test_enrol_is_idempotent(api, course, make_user):
    ana = make_user("ana")
    api.force_authenticate(ana)

    first = api.post(f"/api/courses/{course.pk}/enroll/")
    second = api.post(f"/api/courses/{course.pk}/enroll/")

    assert first.status_code == second.status_code == 200
    assert first.json() == {"enrolled": True}
    assert list(course.students.all()) == [ana]


def test_http_basic_credentials_are_ignored(course, make_user):
    # Only the session signs a request in: an Authorization header neither
    # authenticates nor costs a password hash, and public data stays public.
    ana = make_user("ana")
    token = base64.b64encode(f"ana:{TEST_PASSWORD}".encode()).decode()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Basic {token}")

    assert api.post(f"/api/courses/{course.pk}/enroll/").status_code == 403
    assert ana not in course.students.all()
    assert api.get("/api/subjects/").status_code == 200


def test_contents_are_for_enrolled_students(api, course, make_user):
    api.force_authenticate(make_user("outsider"))
    assert api.get(f"/api/courses/{course.pk}/contents/").status_code == 403

    student = make_user("student")
    course.students.add(student)
    api.force_authenticate(student)
    response = api.get(f"/api/courses/{course.pk}/contents/")

    assert response.status_code == 200
    contents = response.json()["modules"][0]["contents"]
    assert [(c["type"], c["title"]) for c in contents] == [("text", "Axioms"), ("video", "Talk")]
    assert "a &lt;b&gt;b&lt;/b&gt;" in contents[0]["html"]
    assert "https://player.vimeo.com/video/76979871" in contents[1]["html"]


def test_contents_for_the_owner_but_not_anonymous(api, course):
    assert api.get(f"/api/courses/{course.pk}/contents/").status_code == 403

    api.force_authenticate(course.owner)
    assert api.get(f"/api/courses/{course.pk}/contents/").status_code == 200


def test_enrolling_through_the_api_opens_the_contents(api, course, make_user):
    api.force_authenticate(make_user("ana"))
    assert api.get(f"/api/courses/{course.pk}/contents/").status_code == 403

    api.post(f"/api/courses/{course.pk}/enroll/")

    assert api.get(f"/api/courses/{course.pk}/contents/").status_code == 200
