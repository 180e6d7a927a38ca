"""A secret in a library's local variables is masked in the e-mailed error report."""

import sys

import pytest
from django.test import RequestFactory, override_settings
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

pytestmark = pytest.mark.unit

REDIS_PASSWORD = "redis-secret-4f1d9c"


def log_in_to_redis(password):
    # what redis-py's Connection.on_connect holds when the login fails
    auth_args = ("default", password)
    raise ConnectionError(f"AUTH failed for user {auth_args[0]}")


def report(reporter_filter=None, **settings):
    """The e-mailed report of an error in log_in_to_redis; the project's filter unless another is given."""
    request = RequestFactory().get("/")
    if reporter_filter is not None:
        request.exception_reporter_filter = reporter_filter
    with override_settings(**settings):
        try:
            log_in_to_redis(REDIS_PASSWORD)
        except ConnectionError:
            reporter = ExceptionReporter(request, *sys.exc_info(), is_email=True)
            return reporter.get_traceback_html() + reporter.get_traceback_text()


CACHE_WITH_PASSWORD = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "OPTIONS": {"password": REDIS_PASSWORD},
    }
}


def test_the_redis_password_in_a_frame_is_masked():
    text = report(CACHES=CACHE_WITH_PASSWORD, DEBUG=False)
    assert "auth_args" in text, "the frame's variables are not in the report at all"
    assert REDIS_PASSWORD not in text
    assert "********************" in text


def test_the_same_report_without_the_filter_would_leak_it():
    """The test above can fail: Django's own filter prints the local as it is."""
    text = report(SafeExceptionReporterFilter(), CACHES=CACHE_WITH_PASSWORD, DEBUG=False)
    assert REDIS_PASSWORD in text
