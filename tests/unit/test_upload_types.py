"""Pictures are PNG, JPEG, GIF or WebP that decode; every other upload is served as a download."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PillowImage

from courses.forms import ITEM_FORMS
from courses.models import Content, Course, File, Image, Module, Subject
from courses.validators import validate_image_format

pytestmark = [pytest.mark.unit, pytest.mark.django_db]


def picture(image_format, mode="RGB"):
    buffer = io.BytesIO()
    PillowImage.new(mode, (6, 4), color=(10, 120, 200) if mode == "RGB" else 1).save(
        buffer, format=image_format
    )
    return buffer.getvalue()


@pytest.mark.parametrize(
    "name, image_format",
    [("a.png", "PNG"), ("a.jpg", "JPEG"), ("a.jpeg", "JPEG"), ("a.gif", "GIF"), ("a.webp", "WEBP")],
)
def test_the_four_web_formats_are_accepted(name, image_format):
    validate_image_format(SimpleUploadedFile(name, picture(image_format)))


@pytest.mark.parametrize(
    "name, image_format", [("a.bmp", "BMP"), ("a.tiff", "TIFF"), ("a.pdf", "PDF"), ("a.ico", "ICO")]
)
def test_other_formats_pillow_reads_are_refused(name, image_format):
    with pytest.raises(ValidationError) as refused:
        validate_image_format(SimpleUploadedFile(name, picture(image_format)))

    assert refused.value.code in {"invalid_image_format", "invalid_image"}


def test_a_postscript_file_is_refused():
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"

    with pytest.raises(ValidationError):
        validate_image_format(SimpleUploadedFile("a.eps", eps))


def test_a_truncated_picture_is_refused():
    whole = picture("PNG")

    with pytest.raises(ValidationError) as refused:
        validate_image_format(SimpleUploadedFile("a.png", whole[: len(whole) // 2]))

    assert refused.value.code == "invalid_image"


def test_a_picture_under_another_formats_name_is_refused():
    with pytest.raises(ValidationError) as refused:
        validate_image_format(SimpleUploadedFile("a.jpg", picture("PNG")))

    assert refused.value.code == "invalid_image_extension"


def test_the_cms_form_refuses_a_tiff_picture(make_user):
    form = ITEM_FORMS["image"](
        data={"title": "Scan"}, files={"file": SimpleUploadedFile("scan.tiff", picture("TIFF"))}
    )

    assert not form.is_valid()
    assert "PNG, JPEG, GIF or WebP" in str(form.errors["file"])


@pytest.fixture
def course(make_user):
    subject = Subject.objects.create(title="Physics", slug="physics")
    return Course.objects.create(
        owner=make_user("teacher"), subject=subject, title="Optics", slug="optics", overview="Light."
    )


def add(course, item):
    module, _ = Module.objects.get_or_create(course=course, title="Files")
    Content.objects.create(module=module, item=item)
    return item


def test_a_file_is_a_download_and_a_picture_opens_in_the_page(client, course, media_root):
    handout = File(owner=course.owner, title="Notes")
    handout.file.save("notes.png", ContentFile(picture("PNG")))
    prism = Image(owner=course.owner, title="Prism")
    prism.file.save("prism.png", ContentFile(picture("PNG")))
    add(course, handout)
    add(course, prism)
    client.force_login(course.owner)

    download = client.get(handout.file.url)
    shown = client.get(prism.file.url)

    assert download["Content-Disposition"].startswith("attachment")
    assert shown["Content-Disposition"].startswith("inline")


def test_behind_nginx_too(client, course, media_root, settings):
    settings.PROTECTED_MEDIA_ACCEL_PREFIX = "/protected-media/"
    handout = File(owner=course.owner, title="Notes")
    handout.file.save("notes.pdf", ContentFile(b"%PDF-1.4"))
    add(course, handout)
    client.force_login(course.owner)

    assert client.get(handout.file.url)["Content-Disposition"] == 'attachment; filename="notes.pdf"'
