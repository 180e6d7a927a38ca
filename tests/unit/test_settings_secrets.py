"""No secret of the production settings in an e-mailed error report or in ``diffsettings``.

Django prints settings in full in ``manage.py diffsettings`` and in the
technical 500 report it e-mails to ADMINS, masking a value only under a name
that looks secret (PASSWORD, KEY, SECRET ...). The production settings are
loaded in a subprocess with recognisable secrets, the report is rendered as
Django renders it for ADMINS, and none of the secrets may appear in any of
the outputs, neither as they are nor URL-quoted, while the Redis clients'
options still carry the password.
"""

import html
import io
import json
import subprocess
import sys
from urllib.parse import quote, quote_plus

import pytest
from django.core.management import call_command

from tests.support.settings import PROD_ENV, clean_environment
from tests.support.system import MANAGE, PROJECT_DIR

pytestmark = pytest.mark.unit

SECRETS = {
    "SECRET_KEY": "sentinel-secret-key/" + "k" * 40 + ":7d1e",
    # the key being retired while SECRET_KEY is rotated
    "SECRET_KEY_FALLBACKS": "sentinel-old-key/" + "o" * 40 + ":3c9a",
    "POSTGRES_PASSWORD": "sentinel-db-p@ss:w/rd+1",
    "REDIS_PASSWORD": "sentinel-redis-p@ss:w/rd+2",
    "EMAIL_HOST_PASSWORD": "sentinel-mail-p@ss:w/rd+3",
}
# An operator may write the credentials into REDIS_URL itself; that password wins.
URL_PASSWORD = "sentinel-url-p@ss:w/rd+4"
URL_WITH_CREDENTIALS = f"redis://educa-acl:{quote(URL_PASSWORD, safe='')}@cache:6379"

# Renders the technical 500 report of a failed request as AdminEmailHandler
# does (is_email=True), sends that e-mail to ADMINS through the locmem backend,
# and prints both with what the Redis clients are given.
REPORT_SCRIPT = """
import json, logging, sys

import django

django.setup()

from django.conf import settings
from django.core import mail
from django.test import RequestFactory
from django.utils.log import AdminEmailHandler
from django.views.debug import ExceptionReporter

request = RequestFactory().get("/course/mathematics/", HTTP_HOST="educa.example")
try:
    raise RuntimeError("the view failed")
except RuntimeError:
    exc_info = sys.exc_info()

reporter = ExceptionReporter(request, *exc_info, is_email=True)
record = logging.LogRecord(
    "django.request", logging.ERROR, "views.py", 1, "Internal Server Error: %s", (request.path,), exc_info
)
record.request = request
record.status_code = 500
AdminEmailHandler(include_html=True).emit(record)
(message,) = mail.outbox
print(json.dumps({
    "outputs": {
        "report html": reporter.get_traceback_html(),
        "report text": reporter.get_traceback_text(),
        "e-mail subject": message.subject,
        "e-mail text": message.body,
        "e-mail html": message.alternatives[0][0],
    },
    "recipients": message.to,
    "cache options": settings.CACHES["default"]["OPTIONS"],
    "channel layer host": settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0],
}))
"""


def production_environment(**overrides):
    return clean_environment(
        **PROD_ENV
        | SECRETS
        | {
            "ADMIN_EMAILS": "admin@educa.example",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        }
        | overrides
    )


def run(env, *args):
    result = subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=120, cwd=PROJECT_DIR
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def leaks(text, secrets):
    """The secrets found in ``text``, in any of the forms a URL or a web page would give them."""
    return sorted(
        name
        for name, value in secrets.items()
        for form in {value, quote(value, safe=""), quote(value), quote_plus(value), html.escape(value)}
        if form in text
    )


@pytest.mark.parametrize(
    ("redis_url", "password"),
    [("redis://cache:6379", SECRETS["REDIS_PASSWORD"]), (URL_WITH_CREDENTIALS, URL_PASSWORD)],
    ids=["REDIS_PASSWORD", "credentials in REDIS_URL"],
)
def test_error_reports_and_diffsettings_show_no_secret(redis_url, password):
    env = production_environment(REDIS_URL=redis_url)
    rendered = json.loads(run(env, "-c", REPORT_SCRIPT))
    outputs = rendered["outputs"]
    for args in (["diffsettings"], ["diffsettings", "--all"]):
        outputs[f"manage.py {' '.join(args)}"] = run(env, str(MANAGE), *args)

    # Each output really shows the settings, so finding no secret in it means something.
    assert rendered["recipients"] == ["admin@educa.example"]
    for name, text in outputs.items():
        if name != "e-mail subject":
            assert "cache:6379/1" in text, name
    secrets = {**SECRETS, "REDIS_URL's password": URL_PASSWORD}
    found = {name: leaks(text, secrets) for name, text in outputs.items()}
    assert found == dict.fromkeys(outputs, []), found

    # The password is not dropped: the clients still get it, as an option.
    for options in (rendered["cache options"], rendered["channel layer host"]):
        assert options["password"] == password


def test_diffsettings_lists_a_changed_secret_masked(settings):
    """Which settings differ is judged on the real values; only their display is cleansed."""
    settings.EMAIL_HOST_PASSWORD = "changed-mail-password"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"password": "cache-password", "MAX_ENTRIES": 50},
        }
    }

    def diffsettings(*args):
        out = io.StringIO()
        call_command("diffsettings", *args, stdout=out, no_color=True)
        return out.getvalue().splitlines()

    masked = "'********************'"
    hashed, unified = diffsettings(), diffsettings("--output", "unified")
    assert f"EMAIL_HOST_PASSWORD = {masked}" in hashed
    assert f"+ EMAIL_HOST_PASSWORD = {masked}" in unified
    assert f"- EMAIL_HOST_PASSWORD = {masked}" in unified
    cache_line = next(line for line in hashed if line.startswith("CACHES = "))
    assert f"'password': {masked}" in cache_line
    assert "'MAX_ENTRIES': 50" in cache_line
    # A setting left at Django's default shows with --all only, masked if its name says secret.
    assert not any(line.startswith("EMAIL_SSL_KEYFILE") for line in hashed)
    assert f"### EMAIL_SSL_KEYFILE = {masked}" in diffsettings("--all")
    for output in (hashed, unified):
        assert not any("changed-mail-password" in line or "cache-password" in line for line in output)
