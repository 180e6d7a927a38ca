"""An instructor builds a course in the CMS; what they did is what everyone sees."""

import pytest

from tests.browser.instructor import COURSE_TITLE, MODULES
from tests.support.browser import INSTRUCTOR_LANDING, follow, log_in, screenshot

pytestmark = pytest.mark.browser


def test_instructor_builds_a_course_and_reorders_it_by_drag_and_drop(
    built_course, browsing, instructor_account
):
    # built_course has driven the CMS (see instructor.py) and checked each
    # step there, including the order after a reload. Here, in a new browser
    # session: the CMS and the public page both show the dragged order.
    page = browsing.new_page()
    log_in(page, instructor_account.username, instructor_account.password, lands_on=INSTRUCTOR_LANDING)
    card = page.locator("article.card", has_text=COURSE_TITLE)
    assert "3 modules" in card.inner_text()
    screenshot(page, "05-instructor-my-courses")

    follow(page, card.get_by_role("link", name="Modules"), rf"/course/{built_course.pk}/module/$")
    titles = [
        row.get_by_label("Title").input_value()
        for row in page.locator("fieldset.formset-row").filter(has_text="Edit its contents").all()
    ]
    assert titles == MODULES

    page.goto(built_course.public_path)
    assert page.locator("h1").inner_text() == COURSE_TITLE
    assert page.locator(".module-list .module-title").all_inner_texts() == MODULES
    assert "by Grace Hopper" in page.locator(".course-header").inner_text()
    # The owner is offered the CMS, not an enrolment.
    assert page.get_by_role("link", name="Manage this course").is_visible()
    screenshot(page, "06-public-course-page-as-owner")
    browsing.assert_clean()
