"""create_instructor and create_course: the one way docs and tests make instructors and courses."""

import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from courses.models import Course, Subject

pytestmark = [pytest.mark.unit, pytest.mark.django_db]


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def signs_in(client, username, password):
    """Sign in through the login form, as a person does (the lockout check needs the request)."""
    response = client.post("/accounts/login/", {"username": username, "password": password})
    return response.status_code == 302 and "_auth_user_id" in client.session


def test_create_instructor_with_a_password_can_use_the_cms(client):
    output = run("create_instructor", "ada", "--password", "Ada-pass-123", "--email", "ada@example.com")
    assert "Instructor “ada” created" in output
    assert "Password" not in output
    user = get_user_model().objects.get(username="ada")
    assert user.email == "ada@example.com"
    assert signs_in(client, "ada", "Ada-pass-123")
    assert client.get("/course/create/").status_code == 200


def test_create_instructor_without_a_terminal_prints_a_generated_password_once(client, monkeypatch):
    monkeypatch.setattr("sys.stdin", StringIO(""))
    output = run("create_instructor", "bea")
    password = output.split("Password (shown once): ")[1].strip()
    assert signs_in(client, "bea", password)


def test_create_instructor_makes_the_subjects_asked_for():
    run("create_instructor", "cy", "--password", "x-Y-z-123", "--subject", "web=Web development")
    assert Subject.objects.get(slug="web").title == "Web development"


def test_create_course_prints_its_ids_and_keeps_the_module_order():
    run("create_instructor", "dan", "--password", "Dan-pass-123")
    made = json.loads(
        run("create_course", "--owner", "dan", "--title", "Rust", "--module", "B", "--module", "A")
    )
    course = Course.objects.get(pk=made["id"])
    assert course.slug == made["slug"] == "rust"
    assert course.owner.username == "dan"
    assert [module.title for module in course.modules.all()] == ["B", "A"]
    assert made["modules"] == [module.pk for module in course.modules.all()]
    assert made["subject"] == {"id": course.subject_id, "slug": "programming"}


def test_create_course_refuses_a_non_instructor_and_a_taken_address(make_user):
    make_user("eve")
    with pytest.raises(CommandError, match="not an instructor"):
        run("create_course", "--owner", "eve", "--title", "X")
    with pytest.raises(CommandError, match="No user"):
        run("create_course", "--owner", "nobody", "--title", "X")
    run("create_instructor", "fay", "--password", "Fay-pass-123")
    run("create_course", "--owner", "fay", "--title", "Same")
    with pytest.raises(CommandError, match="exists already"):
        run("create_course", "--owner", "fay", "--title", "Same")
