"""The CMS, the student pages and the API over HTTP, on PostgreSQL and Redis.

A real server process (Daphne, production settings) is driven with
``requests`` like a browser would: sign in with the CSRF token, post the CMS
forms, enrol through the API. What was written is then checked in PostgreSQL.
"""

import base64
import dataclasses
import uuid

import pytest

from tests.support.site import SiteClient

from .conftest import TEST_PASSWORD

pytestmark = pytest.mark.integration


@pytest.fixture
def subject_id(instructor_account):
    return instructor_account.subject_id


@pytest.fixture
def instructor(educa_server, instructor_account):
    browser = SiteClient(educa_server.url)
    browser.log_in(instructor_account.username, instructor_account.password)
    return browser


@pytest.fixture
def student(educa_server):
    """A new student, registered through the sign-up page (which signs them in)."""
    browser = SiteClient(educa_server.url)
    name = f"student-{uuid.uuid4().hex[:8]}"
    response = browser.post_form(
        "/students/register/",
        {
            "username": name,
            "email": f"{name}@example.com",
            "password1": TEST_PASSWORD,
            "password2": TEST_PASSWORD,
        },
    )
    assert response.status_code == 302, response.text
    browser.username = name
    return browser


@dataclasses.dataclass
class PublishedCourse:
    id: int
    slug: str
    modules: list  # ids, in their order
    text_id: int  # the Text item of the first module


def publish_course(instructor, subject_id, modules=("Limits", "Derivatives", "Integrals")):
    """Create a course with modules and contents through the CMS pages, as an instructor would."""
    slug = f"calculus-{uuid.uuid4().hex[:8]}"
    response = instructor.post_form(
        "/course/create/",
        {"subject": subject_id, "title": f"Calculus {slug}", "slug": slug, "overview": "Change, in numbers."},
    )
    assert response.status_code == 302, response.text
    course_id = int(response.headers["Location"].rstrip("/").split("/")[-2])

    formset = {
        "modules-TOTAL_FORMS": len(modules),
        "modules-INITIAL_FORMS": 0,
        "modules-MIN_NUM_FORMS": 0,
        "modules-MAX_NUM_FORMS": 1000,
    }
    for index, title in enumerate(modules):
        formset[f"modules-{index}-title"] = title
        formset[f"modules-{index}-description"] = f"All about {title.lower()}."
    response = instructor.post_form(f"/course/{course_id}/module/", formset)
    assert response.status_code == 302, response.text

    api = instructor.get(f"/api/courses/{course_id}/").json()
    module_ids = [module["id"] for module in api["modules"]]
    assert [module["title"] for module in api["modules"]] == list(modules)

    first = module_ids[0]
    for model_name, fields in (
        ("text", {"title": "Epsilon and delta", "content": "A limit is a promise about closeness."}),
        ("video", {"title": "Limits explained", "url": "https://www.youtube.com/watch?v=riXcZT2ICjA"}),
    ):
        response = instructor.post_form(f"/course/module/{first}/content/{model_name}/create/", fields)
        assert response.status_code == 302, response.text
    return PublishedCourse(id=course_id, slug=slug, modules=module_ids, text_id=None)


@pytest.fixture
def course(instructor, subject_id, db_connection):
    published = publish_course(instructor, subject_id)
    published.text_id = db_connection.execute(
        "SELECT c.object_id FROM courses_content c JOIN django_content_type ct ON ct.id = c.content_type_id "
        "WHERE c.module_id = %s AND ct.model = 'text'",
        [published.modules[0]],
    ).fetchone()[0]
    return published


def test_the_server_is_ready_with_every_dependency(educa_server):
    browser = SiteClient(educa_server.url)

    body = browser.get("/readyz").json()

    assert body == {"status": "ok", "checks": {"database": "ok", "cache": "ok", "channel_layer": "ok"}}


def test_a_course_built_in_the_cms_is_stored_in_order(course, db_connection):
    modules = db_connection.execute(
        'SELECT id, "order", title FROM courses_module WHERE course_id = %s ORDER BY "order"', [course.id]
    ).fetchall()
    contents = db_connection.execute(
        'SELECT ct.model, c."order" FROM courses_content c '
        'JOIN django_content_type ct ON ct.id = c.content_type_id WHERE c.module_id = %s ORDER BY c."order"',
        [course.modules[0]],
    ).fetchall()
    owner = db_connection.execute(
        "SELECT u.username FROM courses_course c JOIN auth_user u ON u.id = c.owner_id WHERE c.id = %s",
        [course.id],
    ).fetchone()[0]

    assert [(order, title) for _, order, title in modules] == [
        (0, "Limits"),
        (1, "Derivatives"),
        (2, "Integrals"),
    ]
    assert contents == [("text", 0), ("video", 1)]
    assert owner == "ines"


def test_the_public_catalogue_and_api_list_the_course(educa_server, course):
    visitor = SiteClient(educa_server.url)

    catalogue = visitor.get("/")
    detail = visitor.get(f"/course/{course.slug}/")
    listed = visitor.get("/api/courses/").json()
    subjects = visitor.get("/api/subjects/").json()

    assert catalogue.status_code == 200 and f"Calculus {course.slug}" in catalogue.text
    assert detail.status_code == 200 and "Derivatives" in detail.text
    assert course.id in [item["id"] for item in listed["results"]]
    mathematics = next(item for item in subjects["results"] if item["slug"] == "mathematics")
    assert mathematics["total_courses"] >= 1


def test_a_student_enrols_through_the_api_and_reads_the_contents(student, course, db_connection):
    contents_url = f"/api/courses/{course.id}/contents/"
    assert student.get(contents_url).status_code == 403

    enrolled = student.post_json(f"/api/courses/{course.id}/enroll/", {})
    contents = student.get(contents_url)

    assert enrolled.status_code == 200 and enrolled.json() == {"enrolled": True}
    assert contents.status_code == 200
    modules = contents.json()["modules"]
    assert [module["title"] for module in modules] == ["Limits", "Derivatives", "Integrals"]
    first = modules[0]["contents"]
    assert [(item["order"], item["type"]) for item in first] == [(0, "text"), (1, "video")]
    assert "A limit is a promise about closeness." in first[0]["html"]
    assert "youtube" in first[1]["html"]
    stored = db_connection.execute(
        "SELECT count(*) FROM courses_course_students cs JOIN auth_user u ON u.id = cs.user_id "
        "WHERE cs.course_id = %s AND u.username = %s",
        [course.id, student.username],
    ).fetchone()[0]
    assert stored == 1


def test_an_instructors_edit_reaches_the_enrolled_student_at_once(instructor, student, course):
    """The player page is cached in Redis; the edit, in another request, must invalidate it."""
    assert student.enrol(course.slug) == course.id
    player = f"/students/course/{course.id}/{course.modules[0]}/"
    assert "A limit is a promise about closeness." in student.get(player).text

    response = instructor.post_form(
        f"/course/module/{course.modules[0]}/content/text/{course.text_id}/",
        {"title": "Epsilon and delta", "content": "Closeness, made precise."},
    )
    assert response.status_code == 302

    page = student.get(player).text
    assert "Closeness, made precise." in page
    assert "A limit is a promise about closeness." not in page


def test_dragging_modules_into_a_new_order_is_saved(instructor, course, db_connection):
    limits, derivatives, integrals = course.modules
    new_order = {str(integrals): 0, str(limits): 1, str(derivatives): 2}

    response = instructor.post_json("/course/module/order/", new_order)

    assert response.status_code == 200, response.text
    rows = db_connection.execute(
        'SELECT id FROM courses_module WHERE course_id = %s ORDER BY "order"', [course.id]
    ).fetchall()
    assert [row[0] for row in rows] == [integrals, limits, derivatives]
    titles = [module["title"] for module in instructor.get(f"/api/courses/{course.id}/").json()["modules"]]
    assert titles == ["Integrals", "Limits", "Derivatives"]


def test_the_reorder_endpoint_keeps_csrf_protection(instructor, course):
    limits, derivatives, _ = course.modules

    response = instructor.request("POST", "/course/module/order/", json={str(limits): 1, str(derivatives): 0})

    assert response.status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(educa_server, course):
    visitor = SiteClient(educa_server.url)

    for path in ("/course/mine/", f"/students/course/{course.id}/", f"/course/{course.id}/module/"):
        response = visitor.get(path, allow_redirects=False)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/accounts/login/"), path


@pytest.mark.parametrize(
    "cookie",
    [
        '"\\000abcdefghijklmnop"',  # a quoted cookie: Django decodes \000 into a NUL character
        "a" * 41,  # longer than any key the sessions table holds
        "résumé-not-a-key",
        "short",
    ],
)
def test_a_forged_session_cookie_is_no_session_not_an_error(educa_server, course, cookie):
    # PostgreSQL refuses NUL in text: such a cookie used to reach the sessions
    # table and fail the request with a 500.
    visitor = SiteClient(educa_server.url)
    headers = {"Cookie": f"sessionid={cookie}"}

    for path in ("/", f"/course/{course.slug}/", "/api/courses/", f"/api/courses/{course.id}/contents/"):
        response = visitor.get(path, headers=headers, allow_redirects=False)
        assert response.status_code in (200, 403), f"{path}: {response.status_code}"
    mine = visitor.get("/students/courses/", headers=headers, allow_redirects=False)
    assert mine.status_code == 302 and mine.headers["Location"].startswith("/accounts/login/")


def test_an_authorization_header_neither_signs_in_nor_fails(educa_server, course):
    visitor = SiteClient(educa_server.url)
    nul = base64.b64encode(b"ana\x00:password").decode()

    for value in (f"Basic {nul}", "Basic !!!", "Bearer x"):
        public = visitor.get("/api/subjects/", headers={"Authorization": value})
        enrol = visitor.post_json(f"/api/courses/{course.id}/enroll/", {}, headers={"Authorization": value})
        assert public.status_code == 200, value
        assert enrol.status_code == 403, value
