"""The public catalogue, a course's detail page, caching and the sitemap."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from courses.cache import _course_version_key, catalogue_key, course_key
from courses.catalogue import course_modules, module_contents
from courses.models import Content, Course, Module, Subject, Text
from tests.conftest import TEST_PASSWORD

pytestmark = [pytest.mark.unit, pytest.mark.django_db]


@pytest.fixture
def subjects():
    return {
        "maths": Subject.objects.create(title="Mathematics", slug="mathematics"),
        "music": Subject.objects.create(title="Music", slug="music"),
        "empty": Subject.objects.create(title="Physics", slug="physics"),
    }


@pytest.fixture
def catalogue(subjects, make_user):
    owner = make_user("teacher")

    def course(title, slug, subject):
        return Course.objects.create(owner=owner, subject=subject, title=title, slug=slug, overview="Learn.")

    return {
        "algebra": course("Algebra", "algebra", subjects["maths"]),
        "calculus": course("Calculus", "calculus", subjects["maths"]),
        "harmony": course("Harmony", "harmony", subjects["music"]),
    }


def test_catalogue_lists_every_course_with_subject_counts(client, catalogue):
    response = client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    for title in ("Algebra", "Calculus", "Harmony"):
        assert title in html
    counts = {subject.slug: subject.total_courses for subject in response.context["subjects"]}
    assert counts == {"mathematics": 2, "music": 1, "physics": 0}
    assert response.context["total_courses"] == 3


def test_subject_page_shows_only_that_subjects_courses(client, catalogue):
    response = client.get("/course/subject/music/")

    assert response.status_code == 200
    assert [course.title for course in response.context["courses"]] == ["Harmony"]
    assert response.context["subject"].title == "Music"
    assert reverse("course_list_subject", args=["music"]) == "/course/subject/music/"


def test_a_subject_without_courses_says_so(client, catalogue):
    response = client.get("/course/subject/physics/")

    assert response.status_code == 200
    assert "no courses here yet" in response.content.decode()


def test_unknown_subject_is_404(client, catalogue):
    assert client.get("/course/subject/astrology/").status_code == 404


def test_catalogue_counts_modules_and_students(client, catalogue, make_user):
    algebra = catalogue["algebra"]
    Module.objects.create(course=algebra, title="Groups")
    algebra.students.add(make_user("ana"), make_user("ben"))

    response = client.get("/")

    listed = {course.slug: course for course in response.context["courses"]}
    assert listed["algebra"].total_modules == 1
    assert listed["algebra"].total_students == 2
    assert "2 students" in response.content.decode()


def test_detail_page_shows_overview_and_modules(client, catalogue):
    algebra = catalogue["algebra"]
    Module.objects.create(course=algebra, title="Vector spaces", description="Bases and dimension")

    response = client.get("/course/algebra/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Algebra" in html and "Vector spaces" in html and "Bases and dimension" in html


def test_unknown_course_is_404(client, catalogue):
    assert client.get("/course/no-such-course/").status_code == 404


def test_unknown_course_addresses_leave_nothing_in_the_cache(client, catalogue):
    # Anyone can request any slug: a miss must not cost a cache entry.
    from django.core.cache import cache

    assert client.get("/course/no-such-course/").status_code == 404

    assert not cache.has_key(catalogue_key("course", "slug", "no-such-course").name)


def test_anonymous_visitor_is_invited_to_register_or_sign_in(client, catalogue):
    html = client.get("/course/algebra/").content.decode()

    assert reverse("student_enroll_course") not in html
    assert reverse("student_registration") in html
    assert f"{reverse('login')}?next=/course/algebra/" in html


def test_signed_in_visitor_gets_the_enrol_form(client, catalogue, make_user):
    client.force_login(make_user("ana"))

    html = client.get("/course/algebra/").content.decode()

    assert f'action="{reverse("student_enroll_course")}"' in html
    assert f'name="course_id" value="{catalogue["algebra"].pk}"' in html
    assert "csrfmiddlewaretoken" in html


def test_enrolled_student_gets_a_link_to_the_course(client, catalogue, make_user):
    ana = make_user("ana")
    catalogue["algebra"].students.add(ana)
    client.force_login(ana)

    html = client.get("/course/algebra/").content.decode()

    assert f'action="{reverse("student_enroll_course")}"' not in html
    assert reverse("student_course_detail", args=[catalogue["algebra"].pk]) in html


def test_owner_gets_a_link_to_manage_the_course(client, catalogue):
    course = catalogue["algebra"]
    client.force_login(course.owner)

    html = client.get("/course/algebra/").content.decode()

    assert reverse("course_module_update", args=[course.pk]) in html


def test_login_page_renders_and_signs_in(client, make_user):
    make_user("ana")

    page = client.get("/accounts/login/?next=/course/mine/")
    assert page.status_code == 200
    assert 'name="next" value="/course/mine/"' in page.content.decode()

    response = client.post(
        "/accounts/login/", {"username": "ana", "password": TEST_PASSWORD, "next": "/course/algebra/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/course/algebra/"


# --- Caching -----------------------------------------------------------------


def _count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("url", ["/", "/course/subject/mathematics/", "/course/algebra/"])
def test_repeated_catalogue_pages_come_from_the_cache(client, catalogue, url):
    first = _count_queries(client, url)
    second = _count_queries(client, url)

    assert second < first
    assert second == 0  # anonymous visitors: everything is cached


def test_editing_a_course_is_visible_at_once(client, catalogue):
    client.get("/")
    client.get("/course/algebra/")

    course = catalogue["algebra"]
    course.title = "Abstract algebra"
    course.save()

    assert "Abstract algebra" in client.get("/").content.decode()
    assert "Abstract algebra" in client.get("/course/algebra/").content.decode()


def test_new_modules_and_subject_renames_are_visible_at_once(client, catalogue, subjects):
    client.get("/course/algebra/")
    client.get("/")

    Module.objects.create(course=catalogue["algebra"], title="Rings")
    subjects["maths"].title = "Maths"
    subjects["maths"].save()

    assert "Rings" in client.get("/course/algebra/").content.decode()
    assert "Maths" in client.get("/").content.decode()


def test_enrolment_updates_the_counts(client, catalogue, make_user):
    client.get("/")
    catalogue["harmony"].students.add(make_user("ana"))

    listed = {c.slug: c for c in client.get("/").context["courses"]}

    assert listed["harmony"].total_students == 1


def test_leaving_every_course_updates_the_counts(client, catalogue, make_user):
    ana = make_user("ana")
    catalogue["harmony"].students.add(ana)
    client.get("/")

    ana.courses_joined.clear()

    listed = {c.slug: c for c in client.get("/").context["courses"]}
    assert listed["harmony"].total_students == 0


def test_deleting_a_student_updates_the_counts(client, catalogue, make_user):
    ana = make_user("ana")
    catalogue["harmony"].students.add(ana)
    client.get("/")

    ana.delete()

    listed = {c.slug: c for c in client.get("/").context["courses"]}
    assert listed["harmony"].total_students == 0


def test_two_courses_never_share_a_cache_key(catalogue):
    algebra, harmony = catalogue["algebra"], catalogue["harmony"]
    module_a = Module.objects.create(course=algebra, title="Same title")
    module_b = Module.objects.create(course=harmony, title="Same title")
    for module, body in ((module_a, "algebra body"), (module_b, "harmony body")):
        text = Text.objects.create(owner=algebra.owner, title="Same title", content=body)
        Content.objects.create(module=module, item=text)

    assert course_key(algebra.pk, "module", 0) != course_key(harmony.pk, "module", 0)
    # Same module title and position in two courses: each still gets its own contents.
    assert "algebra body" in module_contents(module_a)[0]["html"]
    assert "harmony body" in module_contents(module_b)[0]["html"]


def test_editing_an_item_refreshes_the_cached_contents(catalogue):
    module = Module.objects.create(course=catalogue["algebra"], title="M")
    text = Text.objects.create(owner=catalogue["algebra"].owner, title="Notes", content="old words")
    Content.objects.create(module=module, item=text)
    assert "old words" in module_contents(module)[0]["html"]

    text.content = "new words"
    text.save()

    assert "new words" in module_contents(module)[0]["html"]


def test_a_cached_read_is_one_round_trip_to_the_cache(catalogue, monkeypatch):
    # The version and the entry come back together: a signed-in page reads
    # three entries, and each read used to be two trips to Redis.
    from django.core.cache import cache

    algebra = catalogue["algebra"]
    Module.objects.create(course=algebra, title="Vectors")
    filled = course_modules(algebra)
    trips = CacheTrips()
    for name in ("get", "get_many", "add", "set", "has_key"):
        monkeypatch.setattr(cache, name, trips.watch(name, getattr(cache, name)))

    with CaptureQueriesContext(connection) as queries:
        again = course_modules(algebra)

    assert [module.title for module in again] == [module.title for module in filled] == ["Vectors"]
    assert trips.calls == ["get_many"]
    assert len(queries) == 0


class CacheTrips:
    """The cache methods a test calls, each outermost call noted once.

    Django's local-memory cache answers get_many with one get per key, where
    Redis answers it with one command: only the outermost call is a trip.
    """

    def __init__(self):
        self.calls = []
        self.depth = 0

    def watch(self, name, method):
        def call(*args, **kwargs):
            if not self.depth:
                self.calls.append(name)
            self.depth += 1
            try:
                return method(*args, **kwargs)
            finally:
                self.depth -= 1

        return call


def test_a_version_evicted_from_the_cache_brings_back_no_older_entry(catalogue):
    # Redis evicts the least recently used keys, a version's too, while
    # entries stored under earlier versions of the course may still be there:
    # a version started again from a number it had before would make them
    # current again.
    from django.core.cache import cache

    algebra = catalogue["algebra"]
    module = Module.objects.create(course=algebra, title="First title")
    cache.delete(_course_version_key(algebra.pk))
    assert [module.title for module in course_modules(algebra)] == ["First title"]
    module.title = "Second title"
    module.save()
    assert [module.title for module in course_modules(algebra)] == ["Second title"]

    cache.delete(_course_version_key(algebra.pk))

    assert [module.title for module in course_modules(algebra)] == ["Second title"]


def test_without_a_cache_the_subjects_are_read_once_per_page(client, catalogue, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/course/subject/mathematics/").status_code == 200

    subject_lists = [q["sql"] for q in queries if 'FROM "courses_subject"' in q["sql"]]
    assert len(subject_lists) == 1


def test_a_dead_cache_does_not_break_the_catalogue(client, catalogue, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    response = client.get("/")

    assert isinstance(caches["default"], RedisCache)  # the unreachable one was really used
    assert response.status_code == 200
    assert "Algebra" in response.content.decode()


# --- Sitemap -----------------------------------------------------------------


def test_sitemap_lists_course_pages(client, catalogue):
    response = client.get("/sitemap.xml")

    assert response.status_code == 200
    xml = response.content.decode()
    for slug in ("algebra", "calculus", "harmony"):
        assert f"/course/{slug}/</loc>" in xml
    assert "<lastmod>" in xml
