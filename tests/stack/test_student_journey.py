"""A student's visit through the whole production stack: sign-up, sign-in, enrolment, study."""

import pytest

from tests.support.journeys import (
    DEMO_COURSE,
    DEMO_FIRST_CONTENT,
    PASSWORD,
    load_demo_courses,
    signed_in,
    unique_name,
)

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module", autouse=True)
def demo_courses(stack):
    load_demo_courses(stack)


def test_register_sign_in_enrol_and_study(stack):
    """A new student signs up, signs in again later, enrols and reads the course's modules over HTTPS."""
    username = unique_name("student")
    stack.client().register(username, PASSWORD)

    session = signed_in(stack, username)
    course = session.enrol(DEMO_COURSE)

    mine = session.get(f"{stack.base_url}/students/courses/", timeout=30)
    assert mine.status_code == 200
    assert "Python from scratch" in mine.text

    player = session.get(f"{stack.base_url}/students/course/{course}/", timeout=30)
    assert player.status_code == 200
    assert "Getting started" in player.text
    assert DEMO_FIRST_CONTENT in player.text
    # the embedded video of the first module is there as well
    assert "youtube" in player.text

    # the pager leads to the next module and its contents
    next_module = player.text.split('rel="next" href="', 1)[1].split('"', 1)[0]
    second = session.get(f"{stack.base_url}{next_module}", timeout=30)
    assert second.status_code == 200
    assert '<h1 id="module-title">Functions</h1>' in second.text
    assert "def greet(name):" in second.text


def test_forms_need_the_csrf_token_and_a_same_origin_referer(stack):
    """Behind the proxy Django knows the request is HTTPS, so a forged cross-site sign-in is refused."""
    session = stack.client()
    form = session.get(f"{stack.base_url}/accounts/login/", timeout=30)
    token = session.cookies.get("csrftoken")
    assert form.status_code == 200 and token
    # the secure flag proves Django saw HTTPS through NGINX
    assert all(cookie.secure for cookie in session.cookies if cookie.name == "csrftoken")

    credentials = {"username": "nobody", "password": "wrong"}
    without_token = session.post(
        f"{stack.base_url}/accounts/login/",
        data=credentials,
        headers={"Referer": f"{stack.base_url}/accounts/login/"},
        timeout=30,
    )
    assert without_token.status_code == 403

    foreign_referer = session.post(
        f"{stack.base_url}/accounts/login/",
        data={"csrfmiddlewaretoken": token, **credentials},
        headers={"Referer": "https://evil.example/login/"},
        timeout=30,
    )
    assert foreign_referer.status_code == 403

    same_origin = session.post(
        f"{stack.base_url}/accounts/login/",
        data={"csrfmiddlewaretoken": token, **credentials},
        headers={"Referer": f"{stack.base_url}/accounts/login/"},
        timeout=30,
    )
    # accepted as a form (wrong password: the form again, with an error)
    assert same_origin.status_code == 200
    assert "Sign in" in same_origin.text


def test_anonymous_visitor_is_sent_to_sign_in(stack):
    """A visitor who is not signed in is sent to the login page, not shown an error."""
    response = stack.client().get(f"{stack.base_url}/students/courses/", allow_redirects=False, timeout=30)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/accounts/login/")


def test_course_subdomain_leads_to_the_course_page(stack):
    """<course-slug>.<site domain> is answered by NGINX and Django sends the visitor to that course's page."""
    response = stack.client().get(
        f"{stack.base_url}/",
        headers={"Host": f"{DEMO_COURSE}.localhost:{stack.https_port}"},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code in (301, 302)
    assert response.headers["Location"] == f"https://localhost:{stack.https_port}/course/{DEMO_COURSE}/"
