"""Models, ordering, the Instructors group, item rendering and upload validation."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from courses.embed import embed_url
from courses.models import Content, Course, File, Image, Module, Subject, Text, Video
from courses.validators import validate_file_extension, validate_upload_size

pytestmark = [pytest.mark.unit, pytest.mark.django_db]


@pytest.fixture
def course(make_course):
    return make_course("Algebra")


def test_modules_number_themselves_per_course(course, make_course):
    first = Module.objects.create(course=course, title="One")
    second = Module.objects.create(course=course, title="Two")
    other_course_module = Module.objects.create(course=make_course("Geometry"), title="Elsewhere")

    assert (first.order, second.order) == (0, 1)
    # Another course's modules start again at 0: positions are per course.
    assert other_course_module.order == 0
    assert [m.title for m in course.modules.all()] == ["One", "Two"]


def test_an_explicit_position_is_kept_and_the_next_goes_after_the_last(course):
    Module.objects.create(course=course, title="Late", order=5)
    after = Module.objects.create(course=course, title="After")
    early = Module.objects.create(course=course, title="Early", order=1)

    assert after.order == 6
    assert [m.title for m in course.modules.all()] == ["Early", "Late", "After"]
    assert early.order == 1


def test_contents_are_ordered_within_their_module(course):
    module = Module.objects.create(course=course, title="M")
    items = [Text.objects.create(owner=course.owner, title=f"T{i}", content="x") for i in range(3)]
    contents = [Content.objects.create(module=module, item=item) for item in items]

    assert [content.order for content in contents] == [0, 1, 2]
    assert [content.item.title for content in module.contents.all()] == ["T0", "T1", "T2"]
    assert "text" in str(contents[0])


def test_model_strings_and_course_url(course):
    assert str(course) == "Algebra"
    assert str(course.subject) == "Programming"
    assert str(Module.objects.create(course=course, title="Intro")) == "0. Intro"
    assert course.get_absolute_url() == "/course/algebra/"


def test_instructors_group_has_the_cms_permissions():
    codenames = set(Group.objects.get(name="Instructors").permissions.values_list("codename", flat=True))
    for model in ("course", "module", "content", "text", "video", "image", "file"):
        for action in ("add", "change", "delete", "view"):
            assert f"{action}_{model}" in codenames
    assert "add_subject" not in codenames


def test_text_is_rendered_escaped_with_line_breaks(course):
    text = Text(owner=course.owner, title="Notes", content="<script>alert(1)</script>\nsecond line")

    html = text.render()

    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<br />" in html


def test_video_from_youtube_is_embedded(course):
    video = Video(owner=course.owner, title="Intro", url="https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=10")

    html = video.render()

    assert '<iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ"' in html


def test_video_elsewhere_is_a_link(course):
    video = Video(owner=course.owner, title="Lecture", url="https://example.org/lecture.mp4")

    html = video.render()

    assert "<iframe" not in html
    assert 'href="https://example.org/lecture.mp4"' in html


def test_files_and_images_link_to_protected_media(course):
    file_item = File(owner=course.owner, title="Slides", file="files/slides.pdf")
    image_item = Image(owner=course.owner, title="Diagram <b>", file="images/diagram.png")

    assert 'href="/media/files/slides.pdf"' in file_item.render()
    image_html = image_item.render()
    assert 'src="/media/images/diagram.png"' in image_html
    assert 'alt="Diagram &lt;b&gt;"' in image_html


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "https://www.youtube.com/embed/dQw4w9WgXcQ"),
        ("https://youtu.be/dQw4w9WgXcQ?t=3", "https://www.youtube.com/embed/dQw4w9WgXcQ"),
        ("https://m.youtube.com/shorts/dQw4w9WgXcQ", "https://www.youtube.com/embed/dQw4w9WgXcQ"),
        ("https://www.youtube.com/embed/dQw4w9WgXcQ", "https://www.youtube.com/embed/dQw4w9WgXcQ"),
        ("https://vimeo.com/76979871", "https://player.vimeo.com/video/76979871"),
        ("https://vimeo.com/channels/staffpicks/76979871", "https://player.vimeo.com/video/76979871"),
        ("https://player.vimeo.com/video/76979871", "https://player.vimeo.com/video/76979871"),
        # Not a recognisable video: no embed at all.
        ('https://www.youtube.com/watch?v=bad"><script>', None),
        # An id followed by an encoded newline is not an id.
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ%0A", None),
        ("https://www.youtube.com/about", None),
        ("https://evil.example/watch?v=dQw4w9WgXcQ", None),
        ("javascript:alert(1)", None),
        ("https://vimeo.com/about", None),
        (None, None),
    ],
)
def test_embed_url(url, expected):
    assert embed_url(url) == expected


def test_upload_size_limit(settings):
    settings.UPLOAD_MAX_BYTES = 10
    validate_upload_size(SimpleUploadedFile("ok.txt", b"x" * 10))
    with pytest.raises(ValidationError, match="largest accepted"):
        validate_upload_size(SimpleUploadedFile("big.txt", b"x" * 11))


@pytest.mark.parametrize("name", ["notes.pdf", "Slides.PPTX", "song.mp3", "archive.zip"])
def test_allowed_extensions(name):
    validate_file_extension(SimpleUploadedFile(name, b"data"))


@pytest.mark.parametrize("name", ["page.html", "drawing.svg", "script.js", "run.exe", "README"])
def test_refused_extensions(name):
    with pytest.raises(ValidationError, match="not accepted"):
        validate_file_extension(SimpleUploadedFile(name, b"data"))


def test_deleting_a_course_deletes_its_modules_and_contents(course):
    module = Module.objects.create(course=course, title="M")
    Content.objects.create(
        module=module, item=Text.objects.create(owner=course.owner, title="T", content="x")
    )

    course.delete()

    assert not Course.objects.exists()
    assert not Module.objects.exists()
    assert not Content.objects.exists()
    assert Subject.objects.exists()
