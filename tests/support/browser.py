"""Driving Debian's Chromium through the production stack with Playwright.

The browser trusts the stack's own CA the way a user's browser would after
importing it: the CA's certificate goes into an NSS database
(Chromium's certificate store on Linux) in a throwaway HOME. TLS errors are
never ignored, so a broken certificate or an HTTP-only page fails the tests.

Every page is watched: a console error, an uncaught exception, a dialog or a
request to another site (the project uses no CDN) is recorded and fails the
test that caused it. Content Security Policy violations reach the console as
errors, so they count too.

Chromium drops every request in flight with ERR_NETWORK_CHANGED whenever an
IP address appears on the machine, which Docker causes each time any
container starts. Where it can (as root, with iproute2), the browser runs in
a network namespace of its own that reaches only the stack's published port
(see netns_chromium.py); elsewhere it runs as it is.
"""

import contextlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from .prerequisites import CHROMIUM, browser_problem
from .system import REPO

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = REPO / "test-artifacts" / "browser"

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

# Short enough to keep a broken page from stalling the layer, long enough for
# a 2-core CI machine serving through NGINX, uWSGI and Daphne.
ACTION_TIMEOUT_MS = 15_000

# The embedded player's address; the stack never reaches YouTube (and tests
# must not depend on it), so the browser gets a small stand-in page instead.
YOUTUBE_EMBED = re.compile(r"^https://www\.youtube\.com/embed/[A-Za-z0-9_-]{11}$")
YOUTUBE_STAND_IN = (
    "<!DOCTYPE html><title>YouTube player</title>"
    "<body style='margin:0;height:100vh;display:grid;place-items:center;background:#0f0f0f'>"
    "<div style='width:68px;height:48px;border-radius:14px;background:#f00;display:grid;"
    "place-items:center'><div style='border-left:20px solid #fff;border-top:12px solid transparent;"
    "border-bottom:12px solid transparent;margin-left:4px'></div></div></body>"
)


def trusting_home(directory, certificate):
    """A HOME whose NSS database trusts the CA ``certificate`` for TLS servers; return its path.

    Chromium on Linux reads user-added trust from ``$HOME/.pki/nssdb``. The
    "C" trust flag makes the stack's own CA an issuer of server certificates,
    and nothing else (its name constraints limit it to the site's names).
    """
    nssdb = Path(directory) / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    database = f"sql:{nssdb}"
    for command in (
        ["certutil", "-d", database, "-N", "--empty-password"],
        ["certutil", "-d", database, "-A", "-t", "C,,", "-n", "educa-stack", "-i", str(certificate)],
    ):
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}"
    return Path(directory)


def isolated_chromium(port, directory):
    """A launcher for Chromium in a network namespace of its own, or None where that is impossible."""
    script = Path(__file__).with_name("netns_chromium.py")
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return None
    check = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, timeout=60)
    if check.returncode != 0:
        return None
    launcher = Path(directory) / "chromium-isolated"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{script}" {port} {CHROMIUM} "$@"\n')
    launcher.chmod(0o755)
    return launcher


def screenshot(page, name):
    """Save a full-page PNG of what the user sees under test-artifacts/browser/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def clear_artifacts():
    if ARTIFACTS.exists():
        for old in ARTIFACTS.glob("*.png"):
            old.unlink()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)


@dataclass
class Chromium:
    browser: object
    base_url: str


class Browsing:
    """Browser contexts for one test, with every page watched for errors.

    ``problems`` collects what a user (or the browser's developer tools)
    would see go wrong; ``assert_clean()`` fails the test when it is not
    empty. Errors matching a pattern passed to ``expecting()`` are allowed
    while that block runs (e.g. WebSocket handshakes refused during a
    deliberate server restart).
    """

    def __init__(self, chromium):
        self.browser = chromium.browser
        self.base_url = chromium.base_url
        self.problems = []
        self.contexts = []
        self._expected = []

    def new_page(self, viewport=DESKTOP):
        context = self.browser.new_context(viewport=viewport, base_url=self.base_url)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.route(lambda url: not url.startswith(self.base_url), self._outside_request)
        self.contexts.append(context)
        page = context.new_page()
        self.watch(page)
        return page

    def watch(self, page):
        page.on("console", lambda message: self._console(page, message))
        page.on("pageerror", lambda error: self._record(page, f"uncaught exception: {error}"))
        page.on("dialog", lambda dialog: self._dialog(page, dialog))

    @contextlib.contextmanager
    def expecting(self, pattern):
        expected = re.compile(pattern)
        self._expected.append(expected)
        try:
            yield
        finally:
            self._expected.remove(expected)

    def assert_clean(self):
        problems, self.problems = self.problems, []
        assert not problems, "the browser reported problems:\n" + "\n".join(problems)

    def close(self):
        for context in self.contexts:
            context.close()
        self.contexts = []

    def _record(self, page, text):
        if any(pattern.search(text) for pattern in self._expected):
            return
        self.problems.append(f"[{page.url}] {text}")

    def _console(self, page, message):
        if message.type in ("error", "assert"):
            self._record(page, f"console {message.type}: {message.text}")

    def _dialog(self, page, dialog):
        self._record(page, f"{dialog.type} dialog opened: {dialog.message!r}")
        dialog.dismiss()

    def _outside_request(self, route):
        url = route.request.url
        if YOUTUBE_EMBED.match(url):
            route.fulfill(status=200, content_type="text/html", body=YOUTUBE_STAND_IN)
            return
        self.problems.append(f"request to another site (no CDN allowed): {url}")
        route.abort()


def expect(*args, **kwargs):
    """Playwright's ``expect``, imported on use.

    A missing Playwright then fails with browser_problem()'s message, not at import.
    """
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=ACTION_TIMEOUT_MS)
    return playwright_expect(*args, **kwargs)


# --- What users do on the site ------------------------------------------------


def follow(page, target, url_pattern):
    """Click a link or submit button, wait for the next page to load, check its address.

    Waiting for the navigation itself (not for a matching URL) matters when
    the next page has the same address, e.g. a form that redirects to itself.
    """
    with page.expect_navigation():
        target.click()
    assert re.search(url_pattern, page.url), f"landed on {page.url}, expected {url_pattern}"


STUDENT_LANDING = r"/students/courses/$"
INSTRUCTOR_LANDING = r"/course/mine/$"


def log_in(page, username, password, lands_on=STUDENT_LANDING):
    """Sign in from the login page; students land on their courses, instructors on the CMS."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    follow(page, page.get_by_role("button", name="Sign in"), lands_on)


def register(page, username, password):
    """Sign up from the navigation's Register link; the new student is signed in."""
    page.goto("/")
    follow(page, page.locator(".site-nav").get_by_role("link", name="Register"), r"/students/register/$")
    page.get_by_label("Username").fill(username)
    page.get_by_label("E-mail address").fill(f"{username}@example.com")
    page.locator("#id_password1").fill(password)
    page.get_by_label("Password confirmation").fill(password)
    follow(page, page.get_by_role("button", name="Create account"), r"/students/courses/$")


def enrol(page, course):
    """Find the course in the catalogue, open it and press "Enrol now"; land in the player."""
    page.goto("/")
    follow(
        page,
        page.locator(f'main a[href="{course.public_path}"]').first,
        rf"/course/{re.escape(course.slug)}/$",
    )
    follow(page, page.get_by_role("button", name="Enrol now"), rf"/students/course/{course.pk}/$")


def open_chat(page, course):
    """From the course player, open the course's chat room and wait until it is connected."""
    follow(page, page.get_by_role("link", name="Course chat"), rf"/chat/room/{course.pk}/$")
    expect(page.locator("#chat-status")).to_have_text("connected")


def say(page, text):
    """Type ``text`` in the chat and press Enter; the field empties once it is sent."""
    page.locator("#chat-message-input").fill(text)
    page.locator("#chat-message-input").press("Enter")
    expect(page.locator("#chat-message-input")).to_have_value("")


# axe-core's impacts that lock someone out of a page or make it very hard to use.
BLOCKING_IMPACTS = ("serious", "critical")
# The embedded video player is another site's page (a stand-in here): axe
# checks the frame's element (its title) in our page, never inside it, and
# would otherwise wait for an answer from a frame that has no axe-core.
AXE_OPTIONS = {"resultTypes": ["violations"], "iframes": False}


def accessibility_violations(page):
    """axe-core's serious and critical violations on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=AXE_OPTIONS)
    return [
        violation for violation in results.response["violations"] if violation["impact"] in BLOCKING_IMPACTS
    ]


def describe_violations(where, violations):
    """What axe found on ``where``, worded for whoever has to fix it: rule, impact, help, elements."""
    lines = []
    for violation in violations:
        rule, impact, text = violation["id"], violation["impact"], violation["help"]
        lines.append(f"{where}: {rule} ({impact}): {text} [{violation['helpUrl']}]")
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    {target}: {summary}")
    return "\n".join(lines)


def no_horizontal_scroll(page):
    """The page is no wider than the viewport (nothing to scroll sideways)."""
    width = page.viewport_size["width"]
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} is {scroll_width}px wide in a {width}px viewport"


def navigation_usable(page):
    """The main navigation is on screen and fits inside the viewport."""
    nav = page.locator(".site-nav")
    assert nav.is_visible(), f"{page.url}: the main navigation is hidden"
    width = page.viewport_size["width"]
    for link in nav.locator("a, button").all():
        assert link.is_visible(), f"{page.url}: navigation item {link.inner_text()!r} is hidden"
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (
            f"{page.url}: navigation item {link.inner_text()!r} sticks out of the viewport ({box})"
        )


def disrupts_shared_stack(test):
    """Mark a test that restarts part of the shared stack; conftest runs it after all others."""
    test.disrupts_shared_stack = True
    return test


def fail_without_browser():
    problem = browser_problem()
    if problem:
        pytest.fail(problem, pytrace=False)
