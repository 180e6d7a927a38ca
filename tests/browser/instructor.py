"""The instructor's story, told in the browser: build a course in the CMS.

An instructor signs in, creates a course, adds its modules through the
formset, adds a text, an uploaded image and a YouTube video, and puts modules
and contents in order by dragging them (the CMS's own drag-and-drop script).
The modules are typed in the wrong order on purpose, so the drag is what
makes the course read right.
"""

import re
from dataclasses import dataclass, field

from PIL import Image, ImageDraw

from tests.support.browser import INSTRUCTOR_LANDING, follow, log_in, screenshot

SUBJECT = ("web-development", "Web development")
COURSE_TITLE = "Building web pages"

# As typed in the formset, then as the instructor drags them.
MODULES_AS_TYPED = ["Pictures and video", "Getting started", "Next steps"]
MODULES = ["Getting started", "Pictures and video", "Next steps"]

VIDEO_ID = "dQw4w9WgXcQ"
IMAGE_SIZE = (480, 270)


@dataclass
class Account:
    username: str
    password: str


@dataclass
class BuiltCourse:
    """What the instructor published, in the order students must see it."""

    pk: int
    slug: str
    title: str
    modules: list = field(default_factory=list)
    # module title -> [(kind, title, text shown to students or None)]
    contents: dict = field(default_factory=dict)

    @property
    def public_path(self):
        return f"/course/{self.slug}/"


def course_map_png(path):
    """A small, recognisable diagram to upload as the course's image."""
    width, height = IMAGE_SIZE
    image = Image.new("RGB", IMAGE_SIZE, (232, 236, 252))
    draw = ImageDraw.Draw(image)
    boxes = [(30, 40), (190, 120), (350, 40)]
    for index, (x, y) in enumerate(boxes):
        draw.rounded_rectangle((x, y, x + 100, y + 70), radius=12, fill=(53, 83, 216))
        draw.text((x + 38, y + 28), f"{index + 1}", fill=(255, 255, 255), font_size=20)
        if index:
            previous_x, previous_y = boxes[index - 1]
            draw.line((previous_x + 100, previous_y + 35, x, y + 35), fill=(39, 64, 172), width=4)
    draw.text((30, height - 50), "Course map", fill=(29, 36, 51), font_size=22)
    image.save(path, "PNG")
    return path


def build_course(browsing, account, upload_dir):
    page = browsing.new_page()
    log_in(page, account.username, account.password, lands_on=INSTRUCTOR_LANDING)

    # My courses (CMS) -> New course; the slug is suggested from the title by cms-slug.js
    follow(page, page.locator(".site-nav").get_by_role("link", name="Teach"), r"/course/mine/$")
    follow(page, page.locator(".page-header").get_by_role("link", name="New course"), r"/course/create/$")
    page.get_by_label("Subject").select_option(label=SUBJECT[1])
    page.get_by_label("Title").fill(COURSE_TITLE)
    slug = page.get_by_label("Slug")
    assert slug.input_value() == "building-web-pages", "the slug was not suggested from the title"
    # Unique per run: other layers share the stack and its catalogue.
    course_slug = f"building-web-pages-{account.username}"
    slug.fill(course_slug)
    page.get_by_label("Overview").fill(
        "Structure a page, add pictures and video, and make it work on every screen."
    )
    screenshot(page, "01-instructor-new-course-form")
    follow(page, page.get_by_role("button", name="Create course"), r"/course/(\d+)/module/$")
    course = BuiltCourse(
        pk=int(re.search(r"/course/(\d+)/module/$", page.url)[1]),
        slug=course_slug,
        title=COURSE_TITLE,
    )
    assert page.locator(".messages").inner_text().startswith(f"“{COURSE_TITLE}” was created")

    add_modules(page, course.pk, MODULES_AS_TYPED)
    screenshot(page, "02-instructor-modules-formset")
    follow(
        page,
        page.locator("fieldset.formset-row").first.get_by_role("link", name="Edit its contents"),
        r"/course/module/\d+/$",
    )

    open_module(page, "Getting started")
    add_text(page, "Welcome", "Welcome to the course!\nEach module builds on the one before.")
    open_module(page, "Next steps")
    add_text(page, "Keep going", "Join the course chat and ask your questions there.")
    open_module(page, "Pictures and video")
    add_image(page, "Course map", course_map_png(upload_dir / "course-map.png"))
    add_video(page, "Welcome video", f"https://www.youtube.com/watch?v={VIDEO_ID}")
    add_text(page, "How to read the map", "Start at box 1 and follow the arrows.")
    assert row_titles(page, "ol.contents") == ["Course map", "Welcome video", "How to read the map"]
    screenshot(page, "03-instructor-contents-before-reordering")

    # Drag "Getting started" above "Pictures and video", and the map's
    # explanation above the map, by their drag handles.
    drag_above(page, "ol.module-list", "Getting started", "Pictures and video")
    drag_above(page, "ol.contents", "How to read the map", "Course map")
    screenshot(page, "04-instructor-reordered-by-drag-and-drop")
    page.reload()
    assert row_titles(page, "ol.module-list") == MODULES, "the module order did not persist"
    assert row_titles(page, "ol.contents") == ["How to read the map", "Course map", "Welcome video"], (
        "the content order did not persist"
    )

    course.modules = list(MODULES)
    course.contents = {
        "Getting started": [("text", "Welcome", "Each module builds on the one before.")],
        "Pictures and video": [
            ("text", "How to read the map", "Start at box 1 and follow the arrows."),
            ("image", "Course map", None),
            ("video", "Welcome video", None),
        ],
        "Next steps": [("text", "Keep going", "Join the course chat and ask your questions there.")],
    }
    return course


def add_modules(page, course_pk, titles):
    """Type module titles into the formset's blank rows, saving whenever they run out."""
    remaining = list(titles)
    while remaining:
        blank_rows = page.locator("fieldset.formset-row").filter(has_text="New module")
        count = blank_rows.count()
        assert count, "the module formset offers no blank row"
        for row in blank_rows.all()[: len(remaining)]:
            title = remaining.pop(0)
            row.get_by_label("Title").fill(title)
            row.get_by_label("Description").fill(f"What “{title}” is about.")
        follow(page, page.get_by_role("button", name="Save modules"), rf"/course/{course_pk}/module/$")
        assert "The modules were saved." in page.locator(".messages").inner_text()
    saved = page.locator("fieldset.formset-row").filter(has_text="Edit its contents")
    assert [row.get_by_label("Title").input_value() for row in saved.all()] == list(titles)


def open_module(page, title):
    follow(
        page,
        page.locator("ol.module-list").get_by_role("link", name=title, exact=True),
        r"/course/module/\d+/$",
    )
    assert page.locator("h1").inner_text() == title


def _add(page, kind, title, fill):
    module_url = page.url
    add_link = page.locator("section .actions").get_by_role("link", name=kind.capitalize(), exact=True)
    follow(page, add_link, rf"/content/{kind}/create/$")
    page.get_by_label("Title").fill(title)
    fill()
    follow(page, page.get_by_role("button", name=f"Save {kind}"), f"^{re.escape(module_url)}$")
    assert row_titles(page, "ol.contents")[-1] == title, f"the new {kind} is not listed last"


def add_text(page, title, body):
    _add(page, "text", title, lambda: page.get_by_label("Content").fill(body))


def add_image(page, title, png):
    _add(page, "image", title, lambda: page.get_by_label("File").set_input_files(str(png)))


def add_video(page, title, url):
    _add(page, "video", title, lambda: page.get_by_label("Video URL").fill(url))


def row_titles(page, list_selector):
    """The titles of a sortable list's rows, top to bottom."""
    rows = page.locator(f"{list_selector} > li[data-id]")
    title = ".content-row-title" if "contents" in list_selector else "a"
    return [row.locator(title).first.inner_text() for row in rows.all()]


def drag_above(page, list_selector, moved, anchor):
    """Drag the row ``moved`` by its handle onto the top edge of the row ``anchor``."""
    listing = page.locator(list_selector)
    handle = listing.locator("> li[data-id]", has_text=moved).locator(".drag-handle")
    target = listing.locator("> li[data-id]", has_text=anchor)
    handle.drag_to(target, target_position={"x": 20, "y": 3})
    status = page.locator(f"{list_selector} + .order-status")
    status.filter(has_text="Order saved.").wait_for()
    titles = row_titles(page, list_selector)
    assert titles.index(moved) + 1 == titles.index(anchor), f"{moved!r} was not dropped above {anchor!r}"
