"""The course player: one module at a time, for enrolled students only, cached."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from courses.cache import course_key
from courses.catalogue import module_contents, module_contents_key
from courses.models import Content, Text, Video

pytestmark = [pytest.mark.unit, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def student(make_user):
    return make_user("ana")


@pytest.fixture
def course(make_course, student):
    return make_course("Django deep dive", modules=["Models", "Views", "Templates"], students=[student])


def player_url(course, module=None):
    if module is None:
        return f"/students/course/{course.pk}/"
    return f"/students/course/{course.pk}/{module.pk}/"


def test_anonymous_visitors_are_sent_to_login(client, course):
    response = client.get(player_url(course))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_student_not_enrolled_gets_a_404(client, make_user, course):
    client.force_login(make_user("bob"))

    assert client.get(player_url(course)).status_code == 404
    assert client.get(player_url(course, course.modules.first())).status_code == 404


def test_an_unknown_course_is_a_404(client, student):
    client.force_login(student)

    assert client.get("/students/course/987654/").status_code == 404
    assert client.get("/students/course/99999999999999999999999/").status_code == 404


def test_a_course_without_modules_is_a_404(client, make_course, student):
    empty = make_course("Coming soon", students=[student])
    client.force_login(student)

    assert client.get(player_url(empty)).status_code == 404


def test_the_first_module_is_shown_by_default(client, student, course):
    client.force_login(student)

    response = client.get(player_url(course))

    assert response.status_code == 200
    assert response.context["module"] == course.modules.first()
    page = response.content.decode()
    assert "Models text" in page
    assert "Views text" not in page
    assert "Module 1 of 3" in page


def test_a_module_of_the_course_can_be_chosen(client, student, course):
    views = course.modules.get(title="Views")
    client.force_login(student)

    page = client.get(player_url(course, views)).content.decode()

    assert "Views text" in page
    assert "Models text" not in page
    assert "Module 2 of 3" in page


def test_the_navigation_links_every_module_and_marks_the_current_one(client, student, course):
    models, views, templates = course.modules.all()
    client.force_login(student)

    response = client.get(player_url(course, views))
    page = response.content.decode()

    for module in (models, views, templates):
        assert f'href="{player_url(course, module)}"' in page
    assert 'aria-current="page"' in page
    assert response.context["previous_module"] == models
    assert response.context["next_module"] == templates
    assert 'rel="prev"' in page
    assert 'rel="next"' in page


def test_the_last_module_has_no_next_link(client, student, course):
    client.force_login(student)

    response = client.get(player_url(course, course.modules.last()))

    assert response.context["next_module"] is None
    assert 'rel="next"' not in response.content.decode()


def test_an_unknown_module_id_is_a_404(client, student, course):
    client.force_login(student)

    assert client.get(f"/students/course/{course.pk}/987654/").status_code == 404


def test_a_module_of_another_course_is_a_404(client, make_course, student, course):
    # Even when the student may see the other course, its modules are not part of this one.
    other = make_course("Rust for beginners", modules=["Ownership"], students=[student])
    client.force_login(student)

    response = client.get(player_url(course, other.modules.get()))

    assert response.status_code == 404


def test_the_owner_who_is_not_enrolled_does_not_get_the_player(client, course):
    client.force_login(course.owner)

    assert client.get(player_url(course)).status_code == 404


def test_a_content_whose_item_is_gone_is_skipped(client, student, course):
    module = course.modules.first()
    Text.objects.filter(pk=module.contents.get().object_id).delete()
    client.force_login(student)

    response = client.get(player_url(course, module))

    assert response.status_code == 200
    assert "Models text" not in response.content.decode()


def test_the_module_contents_are_cached(client, student, course):
    client.force_login(student)

    with CaptureQueriesContext(connection) as first:
        assert "Models text" in client.get(player_url(course)).content.decode()
    with CaptureQueriesContext(connection) as second:
        assert "Models text" in client.get(player_url(course)).content.decode()

    assert len(second) < len(first)
    key = module_contents_key(course.modules.first())
    _, contents = cache.get(key.name)
    assert "Models text" in contents[0]["html"]


def test_rendering_a_module_costs_the_same_queries_however_many_contents(course):
    # A cache miss on a long module must not run one query per content.
    module = course.modules.first()
    owner = course.owner

    def add(count):
        for number in range(count):
            text = Text.objects.create(owner=owner, title=f"Text {number}", content=".")
            video = Video.objects.create(owner=owner, title=f"Video {number}", url="https://vimeo.com/1")
            Content.objects.create(module=module, item=text)
            Content.objects.create(module=module, item=video)

    add(1)
    with CaptureQueriesContext(connection) as few:
        assert len(module_contents(module)) == 3
    add(5)
    cache.clear()
    with CaptureQueriesContext(connection) as many:
        assert len(module_contents(module)) == 13

    assert len(many) == len(few)


def test_the_player_and_the_api_share_the_cached_contents(client, student, course):
    # The API fills the same cache entry first; the player must still render HTML from it.
    module = course.modules.first()
    module_contents(module)
    client.force_login(student)

    page = client.get(player_url(course)).content.decode()

    assert '<article class="content-item content-text">' in page
    assert "Models text" in page
    assert "{&#x27;" not in page


def test_editing_a_text_shows_up_in_the_player(client, student, course):
    client.force_login(student)
    assert "Models text" in client.get(player_url(course)).content.decode()

    text = Text.objects.get(title="Models notes")
    text.content = "Models, revised"
    text.save()

    page = client.get(player_url(course)).content.decode()
    assert "Models, revised" in page
    assert "Models text" not in page


def test_two_courses_never_share_cached_contents(client, make_course, student, course):
    other = make_course("Rust for beginners", modules=["Ownership"], students=[student])
    client.force_login(student)

    assert "Models text" in client.get(player_url(course)).content.decode()
    page = client.get(player_url(other)).content.decode()

    assert "Ownership text" in page
    assert "Models text" not in page
    first_module = course.modules.first().pk
    assert course_key(course.pk, "module", first_module, "contents") != course_key(
        other.pk, "module", first_module, "contents"
    )


def test_the_player_links_to_the_course_chat(client, student, course):
    client.force_login(student)

    page = client.get(player_url(course)).content.decode()

    assert f'href="{reverse("chat:course_chat_room", args=[course.pk])}"' in page


def test_a_warm_player_page_costs_three_queries(client, student, course):
    # The session, the user, and the course among the user's enrolments: the
    # outline, the contents and the header's "Teach" link come from the cache.
    client.force_login(student)
    client.get(player_url(course))

    with CaptureQueriesContext(connection) as queries:
        assert client.get(player_url(course)).status_code == 200

    tables = [query["sql"].split(" FROM ")[1].split()[0].strip('"') for query in queries]
    assert tables == ["django_session", "auth_user", "courses_course"]


def test_a_renamed_module_shows_up_in_the_outline(client, student, course):
    client.force_login(student)
    assert "Views" in client.get(player_url(course)).content.decode()

    module = course.modules.get(title="Views")
    module.title = "Class-based views"
    module.save()

    assert "Class-based views" in client.get(player_url(course)).content.decode()
