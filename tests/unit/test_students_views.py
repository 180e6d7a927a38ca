"""Registration, enrolment and "my courses"."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

REGISTER_URL = "/students/register/"
ENROLL_URL = "/students/enroll-course/"
MY_COURSES_URL = "/students/courses/"


def registration_data(**overrides):
    data = {
        "username": "newstudent",
        "email": "new@example.com",
        "password1": "a-long-Enough-passphrase-42",
        "password2": "a-long-Enough-passphrase-42",
    }
    data.update(overrides)
    return data


def test_registration_page_asks_for_an_email_address(client):
    response = client.get(REGISTER_URL)

    assert response.status_code == 200
    assert 'name="email"' in response.content.decode()


def test_registering_creates_the_account_and_signs_in(client):
    response = client.post(REGISTER_URL, registration_data())

    assert response.status_code == 302
    assert response.url == reverse("student_course_list")
    user = get_user_model().objects.get(username="newstudent")
    assert user.email == "new@example.com"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.get(MY_COURSES_URL).status_code == 200


def test_registration_requires_an_email_address(client):
    response = client.post(REGISTER_URL, registration_data(email=""))

    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    assert not get_user_model().objects.filter(username="newstudent").exists()


def test_registration_refuses_an_address_already_in_use(client, make_user):
    make_user("ana", email="Ana@Example.com")

    response = client.post(REGISTER_URL, registration_data(email="ana@example.com"))

    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert not get_user_model().objects.filter(username="newstudent").exists()


def test_signed_in_users_are_sent_from_registration_to_their_courses(client, make_user):
    client.force_login(make_user("ana"))

    response = client.get(REGISTER_URL)

    assert response.status_code == 302
    assert response.url == reverse("student_course_list")


def test_enrolling_adds_the_student_and_opens_the_course(client, make_user, make_course):
    student = make_user("ana")
    course = make_course(modules=["Intro"])
    client.force_login(student)

    response = client.post(ENROLL_URL, {"course_id": course.pk})

    assert response.status_code == 302
    assert response.url == f"/students/course/{course.pk}/"
    assert course.students.filter(pk=student.pk).exists()


def test_enrolling_twice_is_harmless(client, make_user, make_course):
    student = make_user("ana")
    course = make_course(students=[student])
    client.force_login(student)

    response = client.post(ENROLL_URL, {"course_id": course.pk})

    assert response.status_code == 302
    assert course.students.count() == 1


def test_enrolment_only_answers_post(client, make_user, make_course):
    course = make_course()
    client.force_login(make_user("ana"))

    response = client.get(ENROLL_URL, {"course_id": course.pk})

    assert response.status_code == 405
    assert course.students.count() == 0


@pytest.mark.parametrize("course_id", ["", "abc", "0", "-3", "1.5", "9" * 30])
def test_a_malformed_course_id_is_a_bad_request(client, make_user, course_id):
    client.force_login(make_user("ana"))

    assert client.post(ENROLL_URL, {"course_id": course_id}).status_code == 400


def test_a_missing_course_id_is_a_bad_request(client, make_user):
    client.force_login(make_user("ana"))

    assert client.post(ENROLL_URL, {}).status_code == 400


def test_an_unknown_course_is_not_found(client, make_user):
    client.force_login(make_user("ana"))

    assert client.post(ENROLL_URL, {"course_id": 987654}).status_code == 404


def test_anonymous_enrolment_goes_to_login_and_back_to_the_course(client, make_course):
    course = make_course()

    response = client.post(ENROLL_URL, {"course_id": course.pk})

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert f"next={course.get_absolute_url()}" in response.url
    assert course.students.count() == 0


def test_my_courses_lists_only_the_courses_joined(client, make_user, make_course):
    student = make_user("ana")
    make_course("Django deep dive", modules=["Models", "Views"], students=[student])
    make_course("Rust for beginners")
    client.force_login(student)

    page = client.get(MY_COURSES_URL).content.decode()

    assert "Django deep dive" in page
    assert "2 modules" in page
    assert "Rust for beginners" not in page


def test_my_courses_invites_to_the_catalogue_when_empty(client, make_user):
    client.force_login(make_user("ana"))

    page = client.get(MY_COURSES_URL).content.decode()

    assert "not enrolled in any course" in page
    assert f'href="{reverse("course_list")}"' in page


def test_my_courses_needs_a_signed_in_user(client):
    response = client.get(MY_COURSES_URL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
