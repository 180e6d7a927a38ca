"""Every kind of page passes axe-core's checks, and what a scan cannot judge is tried by hand.

axe-core looks at each page as Chromium rendered it (contrast, the names of
links, buttons and fields, landmarks, headings) and any serious or critical
violation fails the test, printed with what is wrong and where. Two things a
scan cannot judge are done the way a keyboard or screen-reader user does
them: reordering modules and contents in the CMS without a mouse, and the
chat room telling a screen reader about new messages and its connection.
"""

import secrets

import pytest

from tests.browser.instructor import add_text, row_titles
from tests.support.browser import (
    INSTRUCTOR_LANDING,
    accessibility_violations,
    describe_violations,
    enrol,
    expect,
    follow,
    log_in,
    open_chat,
    register,
    say,
)
from tests.support.journeys import PASSWORD, instructor_with_course

pytestmark = pytest.mark.browser


class Audit:
    """axe-core's findings over several pages, reported together so one run shows every fix needed."""

    def __init__(self):
        self.findings = []
        self.pages = 0

    def check(self, page, name):
        self.pages += 1
        violations = accessibility_violations(page)
        if violations:
            self.findings.append(describe_violations(f"{name} ({page.url})", violations))

    def assert_clean(self):
        if self.findings:
            where = f"on {len(self.findings)} of {self.pages} pages"
            found = "\n".join(self.findings)
            pytest.fail(f"axe-core found serious or critical violations {where}:\n{found}", pytrace=False)


def test_visitor_pages_have_no_serious_accessibility_violations(browsing, built_course):
    page = browsing.new_page()
    audit = Audit()
    for path, name in (
        ("/", "catalogue"),
        (built_course.public_path, "course page"),
        ("/accounts/login/", "sign-in page"),
        ("/students/register/", "registration page"),
    ):
        page.goto(path)
        audit.check(page, name)
    audit.assert_clean()
    browsing.assert_clean()


def test_student_pages_have_no_serious_accessibility_violations(browsing, built_course):
    page = browsing.new_page()
    audit = Audit()
    register(page, f"reader-{secrets.token_hex(3)}", secrets.token_urlsafe(12))
    audit.check(page, "student's course list, empty")
    enrol(page, built_course)
    for number, module in enumerate(built_course.modules, start=1):
        expect(page.locator("#module-title")).to_have_text(module)
        audit.check(page, f"course player, module {number}")
        following = page.locator(".module-pager a[rel=next]")
        if following.count():
            follow(page, following, rf"/students/course/{built_course.pk}/\d+/$")
    page.goto("/students/courses/")
    audit.check(page, "student's course list")

    open_chat(page, built_course)
    # A conversation longer than the log's box, so that the log scrolls.
    for number in range(1, 16):
        say(page, f"Question {number}: is anyone else reading module 2?")
    expect(page.locator("#chat-messages .message").filter(has_text="Question 15:")).to_have_count(1)
    assert page.eval_on_selector("#chat-messages", "log => log.scrollHeight > log.clientHeight")
    audit.check(page, "chat room")
    audit.assert_clean()
    browsing.assert_clean()


def test_instructor_pages_have_no_serious_accessibility_violations(
    browsing, built_course, instructor_account
):
    page = browsing.new_page()
    audit = Audit()
    log_in(page, instructor_account.username, instructor_account.password, lands_on=INSTRUCTOR_LANDING)
    audit.check(page, "CMS: my courses")
    page.goto("/course/create/")
    audit.check(page, "CMS: new course form")
    page.goto(f"/course/{built_course.pk}/edit/")
    audit.check(page, "CMS: course edit form")
    page.goto(f"/course/{built_course.pk}/module/")
    audit.check(page, "CMS: module formset")

    follow(
        page,
        page.locator("fieldset.formset-row").nth(1).get_by_role("link", name="Edit its contents"),
        r"/course/module/\d+/$",
    )
    contents_url = page.url
    audit.check(page, "CMS: a module's contents")
    for kind in ("text", "image", "video", "file"):
        page.goto(f"{contents_url}content/{kind}/create/")
        audit.check(page, f"CMS: new {kind} form")
    # The same form sent empty: the errors must be tied to their fields too.
    follow(page, page.get_by_role("button", name="Save file"), r"/content/file/create/$")
    assert page.locator(".errorlist").count(), "the empty form was accepted"
    audit.check(page, "CMS: new file form with errors")
    audit.assert_clean()
    browsing.assert_clean()


# --- The CMS without a mouse -----------------------------------------------


def press_on(page, button, key):
    """Focus ``button`` and press ``key`` on it; the button must really hold the focus."""
    button.focus()
    expect(button).to_be_focused()
    page.keyboard.press(key)


def order_status(page, list_selector):
    return page.locator(f"{list_selector} + .order-status")


def test_modules_and_contents_reorder_with_the_keyboard_alone(stack, browsing):
    made = instructor_with_course(stack, "keyboard", modules=("Reading", "Writing", "Listening"))
    page = browsing.new_page()
    log_in(page, made.username, PASSWORD, lands_on=INSTRUCTOR_LANDING)
    page.goto(f"/course/module/{made.modules[0]}/")
    add_text(page, "Warm-up", "Read the first page aloud.")
    add_text(page, "Practice", "Read the second page to a friend.")

    # Modules, in the sidebar: Tab from a module's link reaches its "move up"
    # button, named after the module; Enter moves it and says where it went.
    modules = "ol.module-list"
    page.locator(modules).get_by_role("link", name="Listening", exact=True).focus()
    page.keyboard.press("Tab")
    move_up = page.get_by_role("button", name="Move “Listening” up")
    expect(move_up).to_be_focused()
    page.keyboard.press("Enter")
    expect(order_status(page, modules)).to_have_text("“Listening” is now 2 of 3. Order saved.")
    assert row_titles(page, modules) == ["Reading", "Listening", "Writing"]
    expect(move_up).to_be_focused()
    page.keyboard.press("Enter")
    expect(order_status(page, modules)).to_have_text("“Listening” is now 1 of 3. Order saved.")
    # At the top there is no "up" any more: the focus stays in the row, on "down".
    expect(page.get_by_role("button", name="Move “Listening” down")).to_be_focused()

    # Contents: Space works as well as Enter.
    contents = "ol.contents"
    press_on(page, page.get_by_role("button", name="Move “Practice” up"), "Space")
    expect(order_status(page, contents)).to_have_text("“Practice” is now 1 of 2. Order saved.")

    page.reload()
    assert row_titles(page, modules) == ["Listening", "Reading", "Writing"], "the modules' order was lost"
    assert row_titles(page, contents) == ["Practice", "Warm-up"], "the contents' order was lost"

    # The module formset, where modules are renamed, orders them the same
    # way; a key pressed twice in a row moves the module twice.
    page.goto(f"/course/{made.course}/module/")
    rows = "ol.formset-rows"
    press_on(page, page.get_by_role("button", name="Move “Listening” down"), "Enter")
    page.keyboard.press("Enter")
    expect(order_status(page, rows)).to_have_text("“Listening” is now 3 of 3. Order saved.")
    expect(page.get_by_role("button", name="Move “Listening” up")).to_be_focused()
    # The legends number the modules in their new order.
    legends = page.locator(f"{rows} legend")
    assert [legend.inner_text().split("·")[0].strip() for legend in legends.all()] == [
        "Module 1",
        "Module 2",
        "Module 3",
    ]
    expect(page.locator(f"{rows} > li").last.get_by_label("Title")).to_have_value("Listening")
    page.reload()
    titles = [row.get_by_label("Title").input_value() for row in page.locator(f"{rows} > li").all()]
    assert titles == ["Reading", "Writing", "Listening"], "the module order did not persist"
    browsing.assert_clean()


# --- The chat, heard rather than seen ----------------------------------------


def test_the_chat_room_announces_messages_and_its_connection(browsing, built_course):
    page = browsing.new_page()
    register(page, f"listener-{secrets.token_hex(3)}", secrets.token_urlsafe(12))
    enrol(page, built_course)
    open_chat(page, built_course)

    # The connection's state is a status message: read out when it changes.
    status = page.get_by_role("status")
    expect(status).to_have_attribute("id", "chat-status")
    expect(status).to_have_attribute("aria-live", "polite")
    expect(status).to_have_text("connected")

    # The messages are a log, read out politely as they arrive, and nothing but them.
    log = page.get_by_role("log", name="Messages")
    expect(log).to_have_attribute("aria-live", "polite")
    expect(log).to_have_attribute("aria-relevant", "additions")
    text = f"Can everyone hear me? {secrets.token_hex(2)}"
    say(page, text)
    expect(log.locator(".message").filter(has_text=text)).to_have_count(1)
    browsing.assert_clean()
