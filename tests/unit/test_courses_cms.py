"""The instructor CMS: access rules, course/module/content flows, uploads and reordering."""

import io
import json

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from PIL import Image as PillowImage

from courses.models import Content, Course, File, Image, Module, Subject, Text, Video

pytestmark = [pytest.mark.unit, pytest.mark.django_db]


@pytest.fixture
def subject():
    return Subject.objects.create(title="Programming", slug="programming")


@pytest.fixture
def course(instructor, subject):
    return Course.objects.create(
        owner=instructor, subject=subject, title="Django", slug="django", overview="Build sites."
    )


@pytest.fixture
def module(course):
    return Module.objects.create(course=course, title="Views")


@pytest.fixture
def text_content(module):
    text = Text.objects.create(owner=module.course.owner, title="Function views", content="def view(request)")
    return Content.objects.create(module=module, item=text)


@pytest.fixture
def rival(make_user):
    """Another instructor: may use the CMS, but not on someone else's course."""
    user = make_user("rival")
    user.groups.add(Group.objects.get(name="Instructors"))
    return user


@pytest.fixture
def owner_client(client, instructor):
    client.force_login(instructor)
    return client


def png_bytes(size=(4, 3)):
    buffer = io.BytesIO()
    PillowImage.new("RGB", size, color=(200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def cms_urls(course, module, content):
    item = content.item
    return [
        reverse("manage_course_list"),
        reverse("course_create"),
        reverse("course_edit", args=[course.pk]),
        reverse("course_delete", args=[course.pk]),
        reverse("course_module_update", args=[course.pk]),
        reverse("module_content_create", args=[module.pk, "text"]),
        reverse("module_content_update", args=[module.pk, "text", item.pk]),
        reverse("module_content_delete", args=[content.pk]),
        reverse("module_content_list", args=[module.pk]),
        reverse("module_order"),
        reverse("content_order"),
    ]


def test_cms_urls_follow_the_contract(course, module, text_content):
    assert reverse("manage_course_list") == "/course/mine/"
    assert all(url.startswith("/course/") for url in cms_urls(course, module, text_content))


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("index", range(11))
def test_anonymous_visitors_are_sent_to_login(client, course, module, text_content, method, index):
    url = cms_urls(course, module, text_content)[index]

    response = getattr(client, method)(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"
    assert Course.objects.filter(pk=course.pk).exists()
    assert Content.objects.filter(pk=text_content.pk).exists()


@pytest.mark.parametrize("index", [2, 3, 4, 5, 6, 8])
def test_another_instructors_course_is_404(client, rival, course, module, text_content, index):
    client.force_login(rival)
    url = cms_urls(course, module, text_content)[index]

    assert client.get(url).status_code == 404
    if index != 8:  # the content list is read-only
        assert client.post(url, {"title": "Hijacked"}).status_code == 404
    course.refresh_from_db()
    assert course.title == "Django"
    assert Text.objects.get().title == "Function views"


def test_another_instructor_cannot_delete_contents(client, rival, text_content):
    client.force_login(rival)

    response = client.post(reverse("module_content_delete", args=[text_content.pk]))

    assert response.status_code == 404
    assert Content.objects.filter(pk=text_content.pk).exists()


def test_users_outside_the_instructors_group_are_forbidden(client, make_user, course):
    client.force_login(make_user("student"))

    assert client.get(reverse("manage_course_list")).status_code == 403
    assert client.get(reverse("course_edit", args=[course.pk])).status_code == 403


def test_instructor_sees_only_own_courses(owner_client, course, rival, subject):
    Course.objects.create(owner=rival, subject=subject, title="Rival course", slug="rival", overview=".")

    html = owner_client.get(reverse("manage_course_list")).content.decode()

    assert "Django" in html
    assert "Rival course" not in html
    assert reverse("course_module_update", args=[course.pk]) in html


def test_teach_link_shown_to_instructors_only(client, instructor, make_user):
    client.force_login(instructor)
    assert reverse("manage_course_list") in client.get("/").content.decode()
    client.force_login(make_user("student"))
    assert reverse("manage_course_list") not in client.get("/").content.decode()


# --- Courses -------------------------------------------------------------------


def test_create_course(owner_client, instructor, subject):
    response = owner_client.post(
        reverse("course_create"),
        {"subject": subject.pk, "title": "Channels", "slug": "channels", "overview": "Realtime."},
    )

    course = Course.objects.get(slug="channels")
    assert course.owner == instructor
    assert response.status_code == 302
    assert response["Location"] == reverse("course_module_update", args=[course.pk])


def test_create_course_form_shows_errors(owner_client, subject):
    response = owner_client.post(
        reverse("course_create"), {"subject": subject.pk, "title": "", "slug": "mine"}
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="errorlist' in html
    assert "This address is reserved" in html
    assert not Course.objects.exists()


def test_edit_course(owner_client, course, subject):
    response = owner_client.post(
        reverse("course_edit", args=[course.pk]),
        {"subject": subject.pk, "title": "Django in depth", "slug": "django", "overview": "More."},
    )

    assert response.status_code == 302
    course.refresh_from_db()
    assert course.title == "Django in depth"
    assert "Django in depth" in owner_client.get("/course/django/").content.decode()


def test_delete_course(owner_client, course, text_content):
    confirm = owner_client.get(reverse("course_delete", args=[course.pk]))
    assert "Delete" in confirm.content.decode()

    response = owner_client.post(reverse("course_delete", args=[course.pk]))

    assert response["Location"] == reverse("manage_course_list")
    assert not Course.objects.exists()
    assert not Content.objects.exists()
    assert owner_client.get("/course/django/").status_code == 404


# --- Modules formset ------------------------------------------------------------


def formset_data(rows, initial=0):
    data = {
        "modules-TOTAL_FORMS": str(len(rows)),
        "modules-INITIAL_FORMS": str(initial),
        "modules-MIN_NUM_FORMS": "0",
        "modules-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"modules-{index}-{key}"] = value
    return data


def test_module_formset_adds_renames_and_deletes(owner_client, course):
    url = reverse("course_module_update", args=[course.pk])
    assert 'name="modules-TOTAL_FORMS"' in owner_client.get(url).content.decode()

    response = owner_client.post(
        url, formset_data([{"title": "Models", "description": "Data"}, {"title": "Views"}, {"title": ""}])
    )
    assert response.status_code == 302
    assert [m.title for m in course.modules.all()] == ["Models", "Views"]

    models, views = course.modules.all()
    response = owner_client.post(
        url,
        formset_data(
            [
                {"id": str(models.pk), "course": str(course.pk), "title": "Models and ORM"},
                {"id": str(views.pk), "course": str(course.pk), "title": "Views", "DELETE": "on"},
            ],
            initial=2,
        ),
    )
    assert response.status_code == 302
    assert [m.title for m in course.modules.all()] == ["Models and ORM"]
    assert "Models and ORM" in owner_client.get("/course/django/").content.decode()


def test_module_formset_errors_are_shown(owner_client, course):
    response = owner_client.post(
        reverse("course_module_update", args=[course.pk]),
        formset_data([{"title": "x" * 201}]),
    )

    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not course.modules.exists()


# --- Contents -------------------------------------------------------------------


def test_content_list_shows_the_modules_contents(owner_client, module, text_content):
    html = owner_client.get(reverse("module_content_list", args=[module.pk])).content.decode()

    assert "Function views" in html
    assert reverse("module_content_update", args=[module.pk, "text", text_content.item.pk]) in html
    assert reverse("module_content_delete", args=[text_content.pk]) in html
    assert 'data-order-url="/course/content/order/"' in html
    assert "js/cms-order.js" in html
    for kind in ("text", "video", "image", "file"):
        assert reverse("module_content_create", args=[module.pk, kind]) in html


def test_create_text_content(owner_client, module, instructor):
    url = reverse("module_content_create", args=[module.pk, "text"])
    assert owner_client.get(url).status_code == 200

    response = owner_client.post(url, {"title": "Class views", "content": "class V(View): ..."})

    assert response.status_code == 302
    assert response["Location"] == reverse("module_content_list", args=[module.pk])
    content = module.contents.get()
    assert content.item.title == "Class views"
    assert content.item.owner == instructor


def test_edit_text_content(owner_client, module, text_content):
    url = reverse("module_content_update", args=[module.pk, "text", text_content.item.pk])
    assert "def view(request)" in owner_client.get(url).content.decode()

    owner_client.post(url, {"title": "Function views", "content": "changed"})

    assert Text.objects.get(pk=text_content.item.pk).content == "changed"
    assert module.contents.count() == 1


def test_create_video_content(owner_client, module):
    url = reverse("module_content_create", args=[module.pk, "video"])

    owner_client.post(url, {"title": "Talk", "url": "https://youtu.be/dQw4w9WgXcQ"})

    assert Video.objects.get().url == "https://youtu.be/dQw4w9WgXcQ"


def test_video_content_requires_a_web_url(owner_client, module):
    response = owner_client.post(
        reverse("module_content_create", args=[module.pk, "video"]), {"title": "Talk", "url": "ftp://host/x"}
    )

    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not Video.objects.exists()


def test_upload_an_image(owner_client, module, media_root):
    upload = io.BytesIO(png_bytes())
    upload.name = "diagram.png"

    response = owner_client.post(
        reverse("module_content_create", args=[module.pk, "image"]), {"title": "Diagram", "file": upload}
    )

    assert response.status_code == 302
    image = Image.objects.get()
    assert (media_root / image.file.name).read_bytes() == png_bytes()
    assert module.contents.get().item == image


def test_a_fake_image_is_refused(owner_client, module, media_root):
    upload = io.BytesIO(b"<html>not an image</html>")
    upload.name = "fake.png"

    response = owner_client.post(
        reverse("module_content_create", args=[module.pk, "image"]), {"title": "Fake", "file": upload}
    )

    assert response.status_code == 200
    assert "Upload a valid image" in response.content.decode()
    assert not Image.objects.exists()


def test_upload_a_file(owner_client, module, media_root):
    upload = io.BytesIO(b"%PDF-1.4 slides")
    upload.name = "slides.pdf"

    owner_client.post(
        reverse("module_content_create", args=[module.pk, "file"]), {"title": "Slides", "file": upload}
    )

    assert (media_root / File.objects.get().file.name).read_bytes() == b"%PDF-1.4 slides"


def test_a_file_of_a_refused_type_is_rejected(owner_client, module, media_root):
    upload = io.BytesIO(b"<script>alert(1)</script>")
    upload.name = "page.html"

    response = owner_client.post(
        reverse("module_content_create", args=[module.pk, "file"]), {"title": "Page", "file": upload}
    )

    assert response.status_code == 200
    assert "are not accepted" in response.content.decode()
    assert not File.objects.exists()


def test_a_too_big_file_is_rejected(owner_client, module, media_root, settings):
    settings.UPLOAD_MAX_BYTES = 100
    upload = io.BytesIO(b"x" * 101)
    upload.name = "notes.txt"

    response = owner_client.post(
        reverse("module_content_create", args=[module.pk, "file"]), {"title": "Notes", "file": upload}
    )

    assert response.status_code == 200
    assert "the largest accepted is 100" in response.content.decode()
    assert not File.objects.exists()


@pytest.mark.parametrize("model_name", ["subject", "course", "user", "content", "nothing"])
def test_unknown_content_type_is_404(owner_client, module, model_name):
    assert owner_client.get(reverse("module_content_create", args=[module.pk, model_name])).status_code == 404
    assert (
        owner_client.post(reverse("module_content_create", args=[module.pk, model_name])).status_code == 404
    )


def test_editing_an_item_through_another_module_or_type_is_404(owner_client, course, module, text_content):
    other = Module.objects.create(course=course, title="Other")
    item_id = text_content.item.pk

    assert (
        owner_client.get(reverse("module_content_update", args=[other.pk, "text", item_id])).status_code
        == 404
    )
    assert (
        owner_client.get(reverse("module_content_update", args=[module.pk, "video", item_id])).status_code
        == 404
    )
    assert (
        owner_client.get(reverse("module_content_update", args=[module.pk, "text", 999])).status_code == 404
    )


def test_delete_content(owner_client, module, text_content):
    url = reverse("module_content_delete", args=[text_content.pk])
    assert owner_client.get(url).status_code == 405

    response = owner_client.post(url)

    assert response["Location"] == reverse("module_content_list", args=[module.pk])
    assert not Content.objects.exists()
    assert not Text.objects.exists()


def test_contents_edited_in_the_cms_reach_students_at_once(owner_client, module, text_content, make_user):
    from courses.catalogue import module_contents

    assert "def view(request)" in module_contents(module)[0]["html"]

    owner_client.post(
        reverse("module_content_update", args=[module.pk, "text", text_content.item.pk]),
        {"title": "Function views", "content": "rewritten"},
    )

    assert "rewritten" in module_contents(module)[0]["html"]


# --- Reordering -------------------------------------------------------------------


@pytest.fixture
def csrf_client(instructor, module):
    """A browser-like client: CSRF is enforced and the token comes from a CMS page."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(instructor)
    client.get(reverse("module_content_list", args=[module.pk]))
    return client


def post_json(client, url, payload, token=None):
    headers = {"X-CSRFToken": token} if token else {}
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return client.post(url, body, content_type="application/json", headers=headers)


@pytest.fixture
def three_modules(course, module):
    return [
        module,
        Module.objects.create(course=course, title="Forms"),
        Module.objects.create(course=course, title="Admin"),
    ]


def test_module_order_requires_the_csrf_token(csrf_client, three_modules):
    payload = {str(m.pk): position for position, m in enumerate(reversed(three_modules))}

    assert post_json(csrf_client, reverse("module_order"), payload).status_code == 403
    assert [m.order for m in Module.objects.order_by("pk")] == [0, 1, 2]

    response = post_json(
        csrf_client, reverse("module_order"), payload, csrf_client.cookies["csrftoken"].value
    )

    assert response.status_code == 200
    assert response.json() == {"saved": 3}
    assert [m.title for m in three_modules[0].course.modules.all()] == ["Admin", "Forms", "Views"]


def test_content_order_is_saved(csrf_client, module, text_content):
    second = Content.objects.create(
        module=module, item=Text.objects.create(owner=module.course.owner, title="Second", content=".")
    )

    response = post_json(
        csrf_client,
        reverse("content_order"),
        {str(second.pk): 0, str(text_content.pk): 1},
        csrf_client.cookies["csrftoken"].value,
    )

    assert response.status_code == 200
    assert [c.pk for c in module.contents.all()] == [second.pk, text_content.pk]


def test_new_order_is_visible_on_the_course_page_at_once(csrf_client, client, three_modules):
    client.get("/course/django/")

    response = post_json(
        csrf_client,
        reverse("module_order"),
        {str(three_modules[2].pk): 0, str(three_modules[0].pk): 1, str(three_modules[1].pk): 2},
        csrf_client.cookies["csrftoken"].value,
    )

    assert response.status_code == 200
    titles = [m.title for m in client.get("/course/django/").context["modules"]]
    assert titles == ["Admin", "Views", "Forms"]


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        "\xff",
        "[1, 2]",
        "{}",
        '"text"',
        {"abc": 1},
        {"-1": 1},
        {"1": -1},
        {"1": "2"},
        {"1": True},
        {"1": 1.5},
        {"1": 10**12},
        {str(2**63): 0},
        {"9" * 5000: 0},
        '{"1": ' + "9" * 5000 + "}",
    ],
)
@pytest.mark.parametrize("url_name", ["module_order", "content_order"])
def test_malformed_orders_are_400(csrf_client, module, text_content, payload, url_name):
    if isinstance(payload, dict) and "1" in payload:
        real_id = module.pk if url_name == "module_order" else text_content.pk
        payload = {str(real_id): payload["1"]}

    response = post_json(csrf_client, reverse(url_name), payload, csrf_client.cookies["csrftoken"].value)

    assert response.status_code == 400
    assert "error" in response.json()


def test_foreign_ids_are_refused_and_nothing_changes(csrf_client, rival, subject, module):
    foreign_course = Course.objects.create(owner=rival, subject=subject, title="R", slug="r", overview=".")
    foreign = Module.objects.create(course=foreign_course, title="Theirs")

    response = post_json(
        csrf_client,
        reverse("module_order"),
        {str(module.pk): 5, str(foreign.pk): 9},
        csrf_client.cookies["csrftoken"].value,
    )

    assert response.status_code == 400
    assert "not yours" in response.json()["error"]
    module.refresh_from_db()
    foreign.refresh_from_db()
    assert (module.order, foreign.order) == (0, 0)


def test_order_endpoints_accept_only_post(owner_client):
    assert owner_client.get(reverse("module_order")).status_code == 405
    assert owner_client.get(reverse("content_order")).status_code == 405
