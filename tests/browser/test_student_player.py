"""A student registers, enrols and reads the course module by module, on a desktop and on a phone."""

import re
import secrets

import pytest

from tests.browser.instructor import IMAGE_SIZE, VIDEO_ID
from tests.support.browser import (
    DESKTOP,
    PHONE,
    enrol,
    follow,
    navigation_usable,
    no_horizontal_scroll,
    register,
    screenshot,
)

pytestmark = pytest.mark.browser


def fits_the_screen(page):
    no_horizontal_scroll(page)
    navigation_usable(page)


@pytest.mark.parametrize("device, viewport", [("desktop", DESKTOP), ("phone", PHONE)])
def test_student_registers_enrols_and_reads_every_module(built_course, browsing, device, viewport):
    shot = {"desktop": "1", "phone": "2"}[device]
    page = browsing.new_page(viewport=viewport)
    media = []
    page.on("response", lambda response: "/media/" in response.url and media.append(response))

    page.goto("/")
    fits_the_screen(page)
    screenshot(page, f"{shot}0-{device}-catalogue")

    register(page, f"student-{device}-{secrets.token_hex(3)}", secrets.token_urlsafe(12))
    assert "not enrolled in any course" in page.locator("main").inner_text()
    fits_the_screen(page)

    enrol(page, built_course)
    page.goto(built_course.public_path)
    fits_the_screen(page)
    assert "You are enrolled" in page.locator(".enrol-card").inner_text()
    screenshot(page, f"{shot}1-{device}-course-page-enrolled")
    follow(page, page.get_by_role("link", name="Go to the course"), rf"/students/course/{built_course.pk}/$")

    # The player: one module at a time, in the instructor's (dragged) order.
    for number, module in enumerate(built_course.modules, start=1):
        fits_the_screen(page)
        assert page.locator("#module-title").inner_text() == module
        assert page.get_by_text(f"Module {number} of {len(built_course.modules)}").is_visible()
        current = page.locator("#modules li[aria-current=page]")
        assert current.inner_text() == module, "the module list does not mark the module being read"
        expected = built_course.contents[module]
        items = page.locator(".contents > .content-item")
        assert [kind for kind, _, _ in expected] == [
            re.search(r"\bcontent-(text|image|video|file)\b", item.get_attribute("class"))[1]
            for item in items.all()
        ]
        for item, (kind, title, text) in zip(items.all(), expected, strict=True):
            if kind == "text":
                assert text in item.inner_text()
            elif kind == "image":
                image_is_shown(item.locator("img"), title)
            elif kind == "video":
                player = item.locator("iframe")
                assert player.get_attribute("src") == f"https://www.youtube.com/embed/{VIDEO_ID}"
                assert player.get_attribute("title") == title
                player.scroll_into_view_if_needed()
                box = player.bounding_box()
                assert box["width"] > 200 and box["x"] + box["width"] <= viewport["width"]
        screenshot(page, f"{shot}{number + 1}-{device}-module-{number}")

        following = page.locator(".module-pager a[rel=next]")
        if number == len(built_course.modules):
            assert following.count() == 0, "the last module offers a next one"
        else:
            assert following.inner_text().startswith(built_course.modules[number])
            follow(page, following, rf"/students/course/{built_course.pk}/\d+/$")

    # The image came through Django's permission check and NGINX's internal
    # location (X-Accel-Redirect): NGINX sent the file itself (byte ranges,
    # an ETag) with the media files' own locked-down policy, and no shared
    # cache may keep it.
    images = [response for response in media if response.request.resource_type == "image"]
    assert images, "the course image was never requested"
    for response in images:
        headers = response.all_headers()
        assert response.status == 200
        assert headers["content-type"] == "image/png"
        assert headers["accept-ranges"] == "bytes" and headers.get("etag")
        policy = headers["content-security-policy"]
        assert policy.startswith("default-src 'none'") and policy.endswith("; sandbox")
        assert headers["cache-control"].startswith("private")
        assert "x-accel-redirect" not in headers

    # The same address sends a visitor who is not signed in to the login page.
    stranger = browsing.new_page(viewport=viewport)
    stranger.goto(images[0].url)
    assert re.search(r"/accounts/login/\?next=/media/", stranger.url), stranger.url
    browsing.assert_clean()


def image_is_shown(image, title):
    """The image decoded (naturalWidth > 0) at its real size and is laid out on the page."""
    assert image.get_attribute("alt") == title
    assert image.get_attribute("src").startswith("/media/")
    image.scroll_into_view_if_needed()
    image.page.wait_for_function(
        "image => image.complete && image.naturalWidth > 0", arg=image.element_handle()
    )
    natural = image.evaluate("image => [image.naturalWidth, image.naturalHeight]")
    assert tuple(natural) == IMAGE_SIZE
    assert image.bounding_box()["width"] > 0
