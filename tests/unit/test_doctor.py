"""``manage.py doctor`` on the test settings: the configuration shown, and aliases nobody defined."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from educa.management.commands.doctor import aliases_asked_for_by_code, explain

pytestmark = [pytest.mark.unit, pytest.mark.django_db]


def run_doctor():
    out = StringIO()
    try:
        call_command("doctor", stdout=out)
    except CommandError as error:
        return str(error), out.getvalue()
    return None, out.getvalue()


def test_a_working_configuration_is_shown_and_passes():
    error, output = run_doctor()
    assert error is None, output
    for label in ("settings", "allowed hosts", "database", "cache 'default'", "channel layer", "e-mail",
                  "static files", "media files"):  # fmt: skip
        assert f"  {label} " in output, label
    assert "Everything answers as configured." in output


def test_a_cache_alias_the_settings_ask_for_but_caches_lacks(settings):
    """A configuration that works where the local settings define more aliases than production's."""
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    settings.SESSION_CACHE_ALIAS = "sessions"
    error, output = run_doctor()
    assert error == "1 problem found."
    assert (
        "FAIL  cache alias 'sessions' is asked for by SESSION_CACHE_ALIAS but CACHES does not define it "
        "(defined: default)"
    ) in output


def test_cache_aliases_asked_for_by_code_are_found(tmp_path):
    (tmp_path / "reports.py").write_text(
        "from django.core.cache import caches\n\n\ndef totals():\n    return caches['reports'].get('t')\n"
    )
    (tmp_path / "tests.py").write_text("from django.core.cache import caches\ncaches['only-in-tests']\n")
    assert aliases_asked_for_by_code(tmp_path) == {"reports": "reports.py:5"}


def test_the_projects_own_code_asks_for_no_alias_that_production_lacks():
    from django.conf import settings

    assert set(aliases_asked_for_by_code(settings.BASE_DIR)) <= {"default"}


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (OSError("Error -3 connecting to cache:6379. Temporary failure in name resolution."), "unknown host"),
        (TimeoutError("Timeout reading from socket"), "timed out after 2.0 s"),
        (ConnectionRefusedError("[Errno 111] Connection refused"), "connection refused"),
    ],
    ids=["unknown host", "timeout", "refused"],
)
def test_each_cause_is_said_first(error, said):
    assert explain(error, timeout=2.0).startswith(said)
