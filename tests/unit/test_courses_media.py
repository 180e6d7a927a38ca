"""Course files are served only to the people allowed to see the course."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from courses.models import Content, Course, File, Image, Module, Subject

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

PDF_BYTES = b"%PDF-1.4 lecture notes"


@pytest.fixture
def course(make_user):
    subject = Subject.objects.create(title="Physics", slug="physics")
    return Course.objects.create(
        owner=make_user("teacher"), subject=subject, title="Optics", slug="optics", overview="Light."
    )


@pytest.fixture
def course_file(course, media_root):
    module = Module.objects.create(course=course, title="Lenses")
    item = File(owner=course.owner, title="Notes")
    item.file.save("notes.pdf", ContentFile(PDF_BYTES))
    Content.objects.create(module=module, item=item)
    return item


@pytest.fixture
def student(make_user, course):
    user = make_user("student")
    course.students.add(user)
    return user


def test_file_urls_point_at_the_protected_view(course_file):
    assert course_file.file.url == "/media/files/notes.pdf"
    assert reverse("protected_media", args=["files/notes.pdf"]) == "/media/files/notes.pdf"


def test_anonymous_visitors_are_sent_to_login(client, course_file):
    response = client.get(course_file.file.url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_users_not_enrolled_get_404(client, make_user, course_file):
    client.force_login(make_user("outsider"))

    assert client.get(course_file.file.url).status_code == 404


def test_enrolled_students_get_the_file(client, student, course_file):
    client.force_login(student)

    response = client.get(course_file.file.url)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert response["Content-Type"] == "application/pdf"
    assert "private" in response["Cache-Control"]
    assert "X-Accel-Redirect" not in response


@pytest.mark.parametrize("who", ["owner", "staff"])
def test_the_owner_and_staff_get_the_file(client, make_user, course, course_file, who):
    user = course.owner if who == "owner" else make_user("admin", is_staff=True)
    client.force_login(user)

    assert client.get(course_file.file.url).status_code == 200


def test_nginx_sends_the_bytes_in_production(client, student, course_file, settings):
    settings.PROTECTED_MEDIA_ACCEL_PREFIX = "/protected-media/"
    client.force_login(student)

    response = client.get(course_file.file.url)

    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == "/protected-media/files/notes.pdf"
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private"
    assert response.content == b""


def test_images_are_protected_too(client, student, course, media_root, make_user):
    module = Module.objects.create(course=course, title="Pictures")
    image = Image(owner=course.owner, title="Prism")
    image.file.save("prism.gif", ContentFile(b"GIF89a"), save=False)
    image.save()
    Content.objects.create(module=module, item=image)

    client.force_login(make_user("outsider"))
    assert client.get(image.file.url).status_code == 404
    client.force_login(student)
    response = client.get(image.file.url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"


@pytest.mark.parametrize(
    "path",
    [
        "files/missing.pdf",
        "files/../files/notes.pdf",
        "../settings.py",
        "files/./notes.pdf",
        "files//notes.pdf",
        "/etc/passwd",
        "files\\notes.pdf",
    ],
)
def test_unknown_or_odd_paths_are_404(client, student, course_file, path):
    client.force_login(student)

    assert client.get(f"/media/{path}").status_code == 404


def test_encoded_traversal_is_404(client, student, course_file):
    client.force_login(student)

    assert client.get("/media/files/%2e%2e/%2e%2e/manage.py").status_code == 404


def test_a_file_deleted_from_disk_is_404(client, student, course_file, media_root):
    (media_root / course_file.file.name).unlink()
    client.force_login(student)

    assert client.get(course_file.file.url).status_code == 404
