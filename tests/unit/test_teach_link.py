"""The header's "Teach" link: shown to those who may create courses, cached, never stale."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from courses.instructors import INSTRUCTORS_GROUP
from tests.conftest import TEST_PASSWORD

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

TEACH = '<a href="/course/mine/">Teach</a>'


def add_course_permission():
    return Permission.objects.get(codename="add_course", content_type__app_label="courses")


@pytest.fixture
def student(make_user):
    return make_user("ana")


def page_of(client, user):
    client.force_login(user)
    response = client.get("/students/courses/")
    assert response.status_code == 200
    return response.content.decode()


def test_an_instructor_sees_the_link_and_a_student_does_not(client, instructor, student):
    assert TEACH in page_of(client, instructor)
    assert TEACH not in page_of(client, student)


def test_a_student_made_instructor_sees_it_on_the_next_page(client, instructor, student):
    assert TEACH not in page_of(client, student)

    student.groups.add(Group.objects.get(name=INSTRUCTORS_GROUP))

    assert TEACH in page_of(client, student)


def test_added_from_the_group_side_too(client, instructor, student):
    assert TEACH not in page_of(client, student)

    Group.objects.get(name=INSTRUCTORS_GROUP).user_set.add(student)

    assert TEACH in page_of(client, student)


def test_an_instructor_removed_from_the_group_loses_it(client, instructor):
    assert TEACH in page_of(client, instructor)

    instructor.groups.clear()

    assert TEACH not in page_of(client, instructor)


def test_a_group_that_loses_the_permission_takes_it_from_its_members(client, instructor):
    assert TEACH in page_of(client, instructor)

    Group.objects.get(name=INSTRUCTORS_GROUP).permissions.remove(add_course_permission())

    assert TEACH not in page_of(client, instructor)


def test_a_permission_given_to_the_user_alone_counts(client, student):
    assert TEACH not in page_of(client, student)

    student.user_permissions.add(add_course_permission())

    assert TEACH in page_of(client, student)


def test_a_user_made_superuser_sees_it(client, student):
    assert TEACH not in page_of(client, student)

    student.is_superuser = True
    student.save()

    assert TEACH in page_of(client, student)


def test_a_warm_page_asks_the_database_nothing_about_permissions(client, instructor):
    page_of(client, instructor)

    with CaptureQueriesContext(connection) as queries:
        assert TEACH in page_of(client, instructor)

    assert not [query["sql"] for query in queries if "auth_permission" in query["sql"]]


def test_another_user_signing_in_keeps_the_cache_warm(client, instructor, student):
    page_of(client, instructor)
    # a sign-in saves the user's last_login, which says nothing about permissions
    response = Client().post("/accounts/login/", {"username": student.username, "password": TEST_PASSWORD})
    assert response.status_code == 302

    with CaptureQueriesContext(connection) as queries:
        page_of(client, instructor)

    assert not [query["sql"] for query in queries if "auth_permission" in query["sql"]]


def test_anonymous_pages_do_not_ask(client, instructor):
    with CaptureQueriesContext(connection) as queries:
        assert TEACH not in client.get("/accounts/login/").content.decode()

    assert not [query["sql"] for query in queries if "auth_permission" in query["sql"]]
