"""Fixtures of the browser layer: Chromium trusting the stack, and a course built in the CMS."""

import os
import secrets

import pytest

from tests.browser import instructor
from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Browsing,
    Chromium,
    clear_artifacts,
    fail_without_browser,
    isolated_chromium,
    trusting_home,
)


@pytest.fixture(scope="session", autouse=True)
def _browser_prerequisites():
    """Fail the layer at once (before booting the stack) when the browser is missing."""
    fail_without_browser()
    clear_artifacts()


@pytest.fixture(scope="session")
def chromium(stack, tmp_path_factory):
    """Debian's Chromium, trusting the stack's certificate through its NSS store."""
    from playwright.sync_api import sync_playwright

    workdir = tmp_path_factory.mktemp("chromium")
    home = trusting_home(workdir / "home", stack.ca_file)
    launcher = isolated_chromium(stack.https_port, workdir)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(launcher or CHROMIUM),
            args=CHROMIUM_ARGS,
            env={**os.environ, "HOME": str(home)},
        )
        where = "in a network namespace of its own" if launcher else "in the host's network"
        print(f"\nChromium {browser.version} {where}, on {stack.base_url}")
        yield Chromium(browser, stack.base_url)
        browser.close()


@pytest.fixture
def browsing(chromium):
    """Watched browser contexts for one test; any console error fails it."""
    session = Browsing(chromium)
    yield session
    session.close()
    session.assert_clean()


@pytest.fixture(scope="session")
def instructor_account(stack):
    """A member of the Instructors group, and a subject to file courses under."""
    account = instructor.Account(f"teacher-{secrets.token_hex(3)}", secrets.token_urlsafe(16))
    stack.manage(
        "create_instructor",
        account.username,
        # one argument: a password may begin with "-" (token_urlsafe), which
        # argparse would take for an option when it came on its own
        f"--password={account.password}",
        "--first-name",
        "Grace",
        "--last-name",
        "Hopper",
        "--subject",
        "=".join(instructor.SUBJECT),
    )
    return account


@pytest.fixture(scope="session")
def built_course(chromium, instructor_account, tmp_path_factory):
    """The course the instructor builds in the CMS with the browser (see instructor.py)."""
    session = Browsing(chromium)
    try:
        course = instructor.build_course(session, instructor_account, tmp_path_factory.mktemp("uploads"))
    finally:
        session.close()
    session.assert_clean()
    return course
