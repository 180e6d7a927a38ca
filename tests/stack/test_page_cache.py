"""NGINX's page cache for anonymous visitors, through the production stack.

The catalogue, subject and course pages are kept by NGINX for
NGINX_PAGE_CACHE_SECONDS (1 s by default) and served to every anonymous
visitor without running Django; anything belonging to a signed-in user is
never served from it nor stored in it, and an instructor's edit is on the
cached pages when the edit's response arrives. ``X-Cache-Status`` says how
NGINX made each answer.
"""

import re

import pytest

from tests.support.journeys import DEMO_COURSE, instructor_with_course, load_demo_courses, new_student

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module", autouse=True)
def demo_courses(stack):
    load_demo_courses(stack)


def cached_twice(client, path):
    """GET ``path`` twice in a row; return both responses."""
    first = client.get(path)
    second = client.get(path)
    assert first.status_code == second.status_code == 200, (first.status_code, second.status_code)
    return first, second


@pytest.mark.parametrize("path", ["/", "/course/subject/programming/", f"/course/{DEMO_COURSE}/"])
def test_anonymous_pages_are_answered_from_the_cache(stack, path):
    first, second = cached_twice(stack.client(), path)
    assert first.headers["X-Cache-Status"] in {"MISS", "EXPIRED", "HIT", "UPDATING"}
    assert second.headers["X-Cache-Status"] == "HIT"
    assert second.text == first.text
    # the cached answer keeps the site's security headers
    assert "Content-Security-Policy" in second.headers
    assert second.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_signed_in_page_is_never_cached_nor_shown_to_others(stack):
    _, student = new_student(stack, "cached")
    page = f"/course/{DEMO_COURSE}/"
    tokens = set()
    for _ in range(2):
        personal = student.get(page)
        assert personal.headers["X-Cache-Status"] == "BYPASS"
        # a page for them: signed in, with forms carrying their CSRF token
        assert "Sign out" in personal.text
        tokens.update(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', personal.text))
    assert tokens

    anonymous = stack.client()
    for _ in range(2):
        seen = anonymous.get(page)
        assert seen.status_code == 200
        assert "Sign out" not in seen.text
        assert "csrfmiddlewaretoken" not in seen.text
        assert not any(token in seen.text for token in tokens)


def test_other_pages_are_not_cached(stack):
    client = stack.client()
    for path in ("/accounts/login/", "/students/register/", "/api/courses/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "X-Cache-Status" not in response.headers, path
    # the login page's CSRF cookie went to this visitor alone
    assert client.cookies.get("csrftoken")


def test_a_visitor_with_a_csrf_cookie_shares_the_anonymous_page(stack):
    """A csrftoken cookie (left by the login page) is not a reason to skip the cache."""
    visitor = stack.client()
    visitor.get("/accounts/login/")
    assert visitor.cookies.get("csrftoken")
    _, second = cached_twice(visitor, "/")
    assert second.headers["X-Cache-Status"] == "HIT"
    assert "Set-Cookie" not in second.headers


def test_an_edited_course_shows_to_anonymous_visitors_at_once(stack):
    """The edit's response leaves once every cached page showing the course is rendered again."""
    owned = instructor_with_course(stack, "editor")
    pages = (f"/course/{owned.slug}/", f"/course/subject/{owned.subject_slug}/", "/")
    visitor = stack.client()
    for path in pages:
        _, cached = cached_twice(visitor, path)
        assert cached.headers["X-Cache-Status"] == "HIT"
        assert f"Course of {owned.username}" in cached.text

    new_title = f"Renamed course of {owned.username}"
    edited = owned.client.post_form(
        f"/course/{owned.course}/edit/",
        {"subject": owned.subject, "title": new_title, "slug": owned.slug, "overview": "Edited."},
    )
    assert edited.status_code == 302, edited.text[:2000]

    for path in pages:
        fresh = visitor.get(path)
        assert new_title in fresh.text, (path, fresh.headers["X-Cache-Status"])
        # from the cache: NGINX stored the refreshed page, Django did not run again
        assert fresh.headers["X-Cache-Status"] == "HIT", path


def test_only_the_site_name_without_a_query_is_cached(stack):
    """What the application cannot refresh is never cached."""
    client = stack.client()
    for _ in range(2):
        with_query = client.get("/?utm_source=newsletter")
    assert with_query.status_code == 200
    assert with_query.headers["X-Cache-Status"] == "BYPASS"
