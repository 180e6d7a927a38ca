"""Course files through the stack: NGINX's upload limit matches Django's, and
downloads are authorised by Django but sent by NGINX (X-Accel-Redirect)."""

import re

import pytest

from tests.support.journeys import enrolled_student, instructor_with_course, new_student

pytestmark = pytest.mark.stack

PDF = b"%PDF-1.4\n% a course handout\n" + b"0" * 4096 + b"\n%%EOF\n"


@pytest.fixture(scope="module")
def course_with_file(stack):
    """An instructor's course with one uploaded PDF, and their signed-in session."""
    instructor = instructor_with_course(stack)
    session = instructor.client
    upload_path = f"/course/module/{instructor.modules[0]}/content/file/create/"
    response = session.post_form(
        upload_path,
        {"title": "Handout"},
        files={"file": ("handout.pdf", PDF, "application/pdf")},
    )
    assert response.status_code == 302, response.text[:2000]
    return {"session": session, "slug": instructor.slug, "upload_path": upload_path}


def test_upload_just_over_djangos_limit_gets_a_readable_error(stack, course_with_file):
    """A file a little over the limit passes NGINX and the instructor reads why Django refused it.

    NGINX's limit leaves room for the form around the file, so the person
    uploading sees the form again with an explanation, not a bare 413 page.
    """
    limit = int(stack.env["UPLOAD_MAX_MB"]) * 1024 * 1024
    response = course_with_file["session"].post_form(
        course_with_file["upload_path"],
        {"title": "Too big"},
        files={"file": ("big.pdf", b"0" * (limit + 512 * 1024), "application/pdf")},
    )
    assert response.status_code == 200
    assert "the largest accepted is" in response.text


def test_enrolled_student_downloads_the_file_sent_by_nginx(stack, course_with_file):
    """A student of the course downloads the handout; the bytes come from NGINX after Django said yes."""
    _, session, course = enrolled_student(stack, "reader", slug=course_with_file["slug"])
    player = session.get(f"{stack.base_url}/students/course/{course}/", timeout=30)
    assert player.status_code == 200
    link = re.search(r'href="(/media/files/[^"]+\.pdf)"', player.text)
    assert link, "the player shows no download link"

    download = session.get(f"{stack.base_url}{link[1]}", allow_redirects=False, timeout=30)
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert "X-Accel-Redirect" not in download.headers
    # never kept by shared caches, a download rather than a page, and
    # sandboxed should a browser open it anyway
    cache_control = download.raw.headers.getlist("Cache-Control")
    assert len(cache_control) == 1 and cache_control[0].startswith("private"), cache_control
    assert download.headers["Content-Disposition"].startswith("attachment")
    policy = download.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy

    # a visitor is asked to sign in; a user outside the course finds no file
    anonymous = stack.client().get(link[1], allow_redirects=False)
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/accounts/login/")
    _, outsider = new_student(stack, "outsider")
    assert outsider.get(f"{stack.base_url}{link[1]}", timeout=30).status_code == 404

    # NGINX's internal location cannot be asked for directly
    internal = link[1].replace(
        "/media/", stack.env.get("PROTECTED_MEDIA_ACCEL_PREFIX", "/protected-media/"), 1
    )
    direct = session.get(f"{stack.base_url}{internal}", timeout=30)
    assert direct.status_code == 404
