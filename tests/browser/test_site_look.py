"""Every page wears the project's stylesheet, served by NGINX from /static/."""

import contextlib
import re

import pytest

from tests.support.browser import screenshot

pytestmark = pytest.mark.browser

COMPUTED_STYLE = """() => {
  const header = getComputedStyle(document.querySelector(".site-header"));
  const body = getComputedStyle(document.body);
  const root = getComputedStyle(document.documentElement);
  return {
    header: header.backgroundColor,
    headerBorder: header.borderBottomStyle,
    body: body.backgroundColor,
    font: body.fontFamily,
    primary: root.getPropertyValue("--color-primary").trim(),
  };
}"""
TRANSPARENT = {"rgba(0, 0, 0, 0)", "transparent"}


def test_every_page_uses_the_stylesheet_served_by_nginx(browsing, built_course):
    page = browsing.new_page()
    sheets = []
    page.on(
        "response",
        lambda response: response.request.resource_type == "stylesheet" and sheets.append(response),
    )
    pages = {
        "/": 200,
        built_course.public_path: 200,
        "/accounts/login/": 200,
        "/students/register/": 200,
        "/no-such-page/": 404,
    }
    looks = {}
    for path, status in pages.items():
        # Chromium reports a page answered with 404 in the console; that one is expected.
        expected = browsing.expecting(r"status of 404") if status == 404 else contextlib.nullcontext()
        with expected:
            response = page.goto(path)
        assert response.status == status, path
        looks[path] = page.evaluate(COMPUTED_STYLE)
        links = page.eval_on_selector_all("link[rel=stylesheet]", "links => links.map(link => link.href)")
        # The hashed name from collectstatic's manifest, under /static/ on the same origin.
        assert links and all(
            re.fullmatch(rf"{re.escape(browsing.base_url)}/static/css/[\w-]+\.[0-9a-f]{{12}}\.css", link)
            for link in links
        ), f"{path}: {links}"
    screenshot(page, "30-not-found-page")

    # One look everywhere, and not the browser's defaults.
    first = looks["/"]
    assert all(look == first for look in looks.values()), looks
    assert first["header"] not in TRANSPARENT and first["headerBorder"] != "none"
    assert first["body"] not in TRANSPARENT
    assert not first["font"].startswith(("Times", '"Times')), first["font"]
    assert first["primary"], "the stylesheet's custom properties are missing"

    assert sheets, "no stylesheet was loaded"
    for sheet in sheets:
        headers = sheet.all_headers()
        assert sheet.status == 200, sheet.url
        assert headers["content-type"].startswith("text/css")
        # Hashed names never change, so NGINX lets browsers keep them for a year.
        assert "immutable" in headers["cache-control"] and "max-age=31536000" in headers["cache-control"]
        assert headers["server"] == "nginx"
    browsing.assert_clean()
