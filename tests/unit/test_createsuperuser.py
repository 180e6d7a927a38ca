"""createsuperuser works with or without a terminal, and never skips silently."""

import subprocess
import sys
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command, get_commands
from django.test import RequestFactory

from tests.support.settings import clean_environment
from tests.support.system import MANAGE, PROJECT_DIR

# the lockout check (django-axes) takes part in every sign-in and needs its request
SIGN_IN = RequestFactory().post("/accounts/login/")

pytestmark = pytest.mark.unit

ACCOUNT = {
    "DJANGO_SUPERUSER_USERNAME": "admin",
    "DJANGO_SUPERUSER_EMAIL": "admin@example.com",
    "DJANGO_SUPERUSER_PASSWORD": "Admin-pass-123",
}


class NotATerminal(StringIO):
    def isatty(self):
        return False


@pytest.fixture
def account(monkeypatch):
    for name in ACCOUNT:
        monkeypatch.delenv(name, raising=False)

    def set_account(*names):
        for name in names:
            monkeypatch.setenv(name, ACCOUNT[name])

    return set_account


def test_the_project_command_replaces_django_s():
    assert get_commands()["createsuperuser"] == "educa"


@pytest.mark.django_db
def test_without_a_terminal_it_fails_and_says_what_to_pass(account):
    with pytest.raises(CommandError) as raised:
        call_command("createsuperuser", stdin=NotATerminal(), stdout=StringIO())
    message = str(raised.value)
    assert "no terminal" in message
    for name in ACCOUNT:
        assert name in message
    assert "--noinput" in message
    assert not get_user_model().objects.exists()


@pytest.mark.django_db
def test_noinput_with_the_account_in_the_environment_creates_an_administrator(account):
    account(*ACCOUNT)
    out = StringIO()
    call_command("createsuperuser", interactive=False, stdout=out)
    assert "Superuser created successfully." in out.getvalue()
    user = authenticate(SIGN_IN, username="admin", password="Admin-pass-123")
    assert user is not None and user.is_superuser and user.is_staff
    assert user.email == "admin@example.com"


@pytest.mark.django_db
def test_noinput_without_a_password_creates_nobody(account):
    account("DJANGO_SUPERUSER_USERNAME", "DJANGO_SUPERUSER_EMAIL")
    out = StringIO()
    with pytest.raises(CommandError, match="DJANGO_SUPERUSER_PASSWORD is not set"):
        call_command("createsuperuser", interactive=False, stdout=out)
    assert not get_user_model().objects.exists()
    assert "created" not in out.getvalue()


@pytest.mark.django_db
def test_noinput_without_a_username_names_the_variables(account):
    with pytest.raises(CommandError) as raised:
        call_command("createsuperuser", interactive=False, stdout=StringIO())
    assert "You must use --username with --noinput." in str(raised.value)
    assert "DJANGO_SUPERUSER_USERNAME" in str(raised.value)


@pytest.mark.django_db
def test_an_existing_superuser_is_not_mistaken_for_the_new_one(account, django_user_model):
    django_user_model.objects.create_superuser("first", "first@example.com", None)  # unusable password
    account(*ACCOUNT)
    call_command("createsuperuser", interactive=False, stdout=StringIO())
    assert django_user_model.objects.filter(is_superuser=True).count() == 2


@pytest.fixture(scope="module")
def local_manage(tmp_path_factory):
    """manage.py with the local settings on a migrated SQLite file, stdin never a terminal."""
    workdir = tmp_path_factory.mktemp("createsuperuser")
    env = clean_environment(
        DJANGO_SETTINGS_MODULE="educa.settings.local", SQLITE_PATH=str(workdir / "db.sqlite3")
    )

    def manage(*args, **extra_env):
        return subprocess.run(
            [sys.executable, str(MANAGE), *args],
            env={**env, **extra_env},
            cwd=PROJECT_DIR,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=180,
        )

    migrated = manage("migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    return manage


def test_manage_py_without_a_terminal_exits_non_zero_with_one_line(local_manage):
    result = local_manage("createsuperuser")
    assert result.returncode == 1
    assert "skipped" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("CommandError: createsuperuser has no terminal")
    assert "DJANGO_SUPERUSER_PASSWORD" in lines[0]


def test_manage_py_noinput_with_the_environment_creates_the_administrator(local_manage):
    result = local_manage("createsuperuser", "--noinput", **ACCOUNT)
    assert result.returncode == 0, result.stderr
    assert "Superuser created successfully." in result.stdout
    check = local_manage(
        "shell",
        "-c",
        "from django.contrib.auth import authenticate; from django.test import RequestFactory; "
        "print(authenticate(RequestFactory().post('/accounts/login/'), "
        "username='admin', password='Admin-pass-123').is_superuser)",
    )
    assert check.stdout.strip().splitlines()[-1] == "True", check.stderr
