"""``load_demo_data`` fills an empty site and is safe to run again."""

import io

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from courses.models import Content, Course, Module, Subject, Text, Video

# the lockout check (django-axes) takes part in every sign-in and needs its request
SIGN_IN = RequestFactory().post("/accounts/login/")

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

MODELS = (Subject, Course, Module, Content, Text, Video, get_user_model())


def counts():
    return {model.__name__: model.objects.count() for model in MODELS}


def run(*args):
    out = io.StringIO()
    call_command("load_demo_data", *args, stdout=out)
    return out.getvalue()


def test_creates_subjects_an_instructor_and_courses():
    run("--password", "demo-pass-123")

    assert {"mathematics", "programming", "physics", "music"} <= set(
        Subject.objects.values_list("slug", flat=True)
    )
    instructor = get_user_model().objects.get(username="instructor")
    assert instructor.groups.filter(name="Instructors").exists()
    assert instructor.has_perm("courses.add_course")
    assert authenticate(SIGN_IN, username="instructor", password="demo-pass-123") == instructor
    assert Course.objects.filter(owner=instructor).count() >= 3
    for course in Course.objects.all():
        assert course.modules.exists()
        assert all(module.contents.exists() for module in course.modules.all())
    assert Text.objects.exists() and Video.objects.exists()


def test_a_second_run_creates_nothing():
    run("--password", "demo-pass-123")
    before = counts()

    output = run()

    assert counts() == before
    assert "(0 new)" in output
    # Without --password an existing instructor keeps theirs.
    assert authenticate(SIGN_IN, username="instructor", password="demo-pass-123") is not None


def test_without_a_password_a_random_one_is_printed():
    output = run()

    printed = output.split("password: ", 1)[1].split()[0]
    assert len(printed) >= 12
    assert authenticate(SIGN_IN, username="instructor", password=printed) is not None


def test_demo_pages_render(client):
    run("--password", "demo-pass-123")

    assert client.get("/").status_code == 200
    for course in Course.objects.all():
        assert client.get(course.get_absolute_url()).status_code == 200


def test_requires_the_instructors_group():
    from django.contrib.auth.models import Group

    Group.objects.filter(name="Instructors").delete()

    with pytest.raises(CommandError, match="Instructors"):
        run()
