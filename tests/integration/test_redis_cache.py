"""Caching in Redis: pages rendered in-process with the production cache settings.

What a visitor must notice: a repeated page is served from Redis, an
instructor's edit shows on the next request, and two courses never see each
other's cached contents.
"""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from courses.models import Course, Module, Text

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def cache_keys(redis_server, pattern):
    with redis_server.client(0) as client:
        return sorted(key.decode() for key in client.scan_iter(match=f"educa:*{pattern}*"))


def test_the_catalogue_is_served_from_redis_until_the_course_changes(
    redis_backed, redis_server, client, make_course
):
    course = make_course("Python basics", modules=["Introduction"])
    assert "Python basics" in client.get("/").text
    assert cache_keys(redis_server, "catalogue:courses:all"), "the catalogue was not cached in Redis"

    # Changed behind the ORM's back (no signal): the cached page is still served.
    Course.objects.filter(pk=course.pk).update(title="Renamed quietly")
    assert "Python basics" in client.get("/").text

    # A real edit invalidates it.
    course.title = "Python for everyone"
    course.save()
    page = client.get("/").text
    assert "Python for everyone" in page
    assert "Renamed quietly" not in page


@pytest.fixture
def instructor(make_user):
    """An instructor allowed to edit texts.

    The permissions are given directly: a transactional test earlier in the
    session flushes the database, and with it the Instructors group that a
    data migration made (permissions are recreated after a flush, groups not).
    """
    user = make_user("instructor")
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="courses", codename__in=["change_content", "change_text"]
        )
    )
    return user


def test_an_edit_in_the_cms_shows_in_the_course_player_at_once(
    redis_backed, redis_server, client, make_course, make_user, instructor
):
    student = make_user("ana")
    course = make_course("Statistics", owner=instructor, modules=["Means"], students=[student])
    module = course.modules.get()
    text = Text.objects.get(owner=instructor)
    player = f"/students/course/{course.pk}/{module.pk}/"
    client.force_login(student)
    assert "Means text" in client.get(player).text
    assert cache_keys(redis_server, f"course:{course.pk}:module:{module.pk}:contents")

    cms = Client()
    cms.force_login(instructor)
    response = cms.post(
        f"/course/module/{module.pk}/content/text/{text.pk}/",
        {"title": "Means notes", "content": "The median resists outliers."},
    )
    assert response.status_code == 302

    page = client.get(player).text
    assert "The median resists outliers." in page
    assert "Means text" not in page


def test_modules_of_two_courses_never_share_cached_contents(
    redis_backed, redis_server, client, make_course, make_user
):
    """Same title, same position: only the ids tell the modules apart."""
    student = make_user("ana")
    french = make_course("French", modules=["Introduction"], students=[student])
    german = make_course("German", modules=["Introduction"], students=[student])
    for course, words in ((french, "Bonjour"), (german, "Guten Tag")):
        module = course.modules.get()
        Text.objects.filter(owner=course.owner).update(content=f"{words} text")
        assert str(module) == "0. Introduction"
    client.force_login(student)

    french_page = client.get(f"/students/course/{french.pk}/").text
    german_page = client.get(f"/students/course/{german.pk}/").text
    german_api = client.get(f"/api/courses/{german.pk}/contents/").json()

    assert "Bonjour text" in french_page and "Guten Tag" not in french_page
    assert "Guten Tag text" in german_page and "Bonjour" not in german_page
    assert "Guten Tag text" in german_api["modules"][0]["contents"][0]["html"]
    for course in (french, german):
        module = Module.objects.get(course=course)
        assert cache_keys(redis_server, f"course:{course.pk}:module:{module.pk}:contents")
