"""The development stack as README.md's "Run it" starts it: ``bin/up``, then edit and reload.

A copy of the repository is booted with ``bin/up`` (docker-compose.yml plus
docker-compose.override.yml) under a project name and free ports of its
own, so neither the working tree nor anybody's stack is touched. In the copy
a template, a Python view and a stylesheet are edited, and each change must
show through NGINX without restarting anything. The secrets check and the
administrator commands are run against the real PostgreSQL and Redis.
Everything the stack made, volumes included, is removed at the end.
"""

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass

import pytest

from tests.support.prerequisites import stack_problem
from tests.support.stack import Stack, project_name
from tests.support.system import REPO, free_port, wait_until

pytestmark = pytest.mark.stack

BOOT_TIMEOUT = 900
# seconds an edit may take to show: uWSGI re-imports Django after a Python
# edit, the static service polls once a second and runs collectstatic
EDIT_TIMEOUT = 60
# seconds between two scans of uWSGI's autoreloader (--py-autoreload in the override)
AUTORELOAD_INTERVAL = 1

NOT_COPIED = shutil.ignore_patterns(
    ".git",
    ".venv",
    ".env",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    "test-artifacts",
    "htmlcov",
    ".coverage",
    "*.sqlite3",
)


@dataclass
class DevStack(Stack):
    """The development stack that bin/up started, and what bin/up printed."""

    up_output: str = ""

    def get(self, path, **options):
        return self.client().get(path, timeout=10, **options)

    def edit(self, relative, old, new):
        path = self.checkout / relative
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{relative} no longer contains {old!r}: update this test"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")


def clean_environment():
    """The caller's environment without anything that would choose another project or its settings."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("COMPOSE_", "EDUCA_", "DJANGO_"))
        and key not in ("SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD", "SITE_DOMAIN")
    }


@pytest.fixture(scope="module")
def dev_stack(request, tmp_path_factory):
    problem = stack_problem()
    if problem:
        pytest.fail(problem, pytrace=False)
    checkout = tmp_path_factory.mktemp("dev-stack") / "educa"
    shutil.copytree(REPO, checkout, ignore=NOT_COPIED, symlinks=True)
    project = project_name()
    env = clean_environment()

    # An .env of its own (ports, project name) that bin/up must leave alone.
    ports = ["--http-port", str(free_port()), "--https-port", str(free_port())]
    generated = subprocess.run(
        ["sh", "config/app/generate-env.sh", *ports],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=True,
    )
    env_text = f"{generated.stdout}COMPOSE_PROJECT_NAME={project}\n"
    (checkout / ".env").write_text(env_text)

    stack = DevStack(
        project=project,
        env_file=checkout / ".env",
        workdir=checkout.parent,
        env=dict(line.split("=", 1) for line in env_text.splitlines() if "=" in line and line[0] != "#"),
        compose_files=("docker-compose.yml", "docker-compose.override.yml"),
        checkout=checkout,
    )
    request.addfinalizer(stack.remove)

    up = subprocess.run(
        ["bin/up"], cwd=checkout, env=env, capture_output=True, text=True, timeout=BOOT_TIMEOUT
    )
    stack.up_output = up.stdout + up.stderr
    if up.returncode != 0:
        pytest.fail(f"bin/up failed ({up.returncode}):\n{stack.up_output[-6000:]}", pytrace=False)
    assert (checkout / ".env").read_text() == env_text, "bin/up changed an existing .env"
    stack.fetch_certificate()
    return stack


def test_bin_up_says_where_the_site_is_and_what_to_run_next(dev_stack):
    assert f"educa is up: https://localhost:{dev_stack.https_port}/" in dev_stack.up_output
    for command in ("logs -f", "load_demo_data", "createsuperuser", "docker compose stop", "down -v"):
        assert command in dev_stack.up_output
    services = dev_stack.compose("ps", "--services", "--status", "running").stdout.split()
    assert {"db", "cache", "web", "daphne", "nginx", "static"} <= set(services)


def test_an_edited_template_shows_on_the_next_reload(dev_stack):
    assert "educa — learn, teach, talk." in dev_stack.get("/").text
    dev_stack.edit("educa/templates/base.html", "educa — learn, teach, talk.", "educa — edited template.")

    seconds = wait_until(
        lambda: "educa — edited template." in dev_stack.get("/").text,
        EDIT_TIMEOUT,
        "the edited footer of base.html on the catalogue",
    )
    print(f"\ntemplate edit shown after {seconds:.1f}s")


def test_an_edited_python_view_shows_on_the_next_reload(dev_stack):
    def favicon_target():
        response = dev_stack.get("/favicon.ico", allow_redirects=False)
        return response.status_code, response.headers.get("Location")

    assert favicon_target() == (302, "/static/favicon.svg")
    # uWSGI's autoreloader notes a module's modification time on its first
    # scan (once a second) after the module was imported: a file edited
    # between the import and that scan looks unchanged. The request above may
    # have been the first to import the view, so give the scan time to run.
    time.sleep(2 * AUTORELOAD_INTERVAL + 0.5)
    dev_stack.edit(
        "educa/educa/views.py",
        'return redirect(static("favicon.svg"))',
        'return redirect(static("favicon.svg") + "?edited-view")',
    )

    seconds = wait_until(
        lambda: favicon_target() == (302, "/static/favicon.svg?edited-view"),
        EDIT_TIMEOUT,
        "the edited favicon view's redirect",
    )
    print(f"\nPython edit shown after {seconds:.1f}s")


def test_an_edited_stylesheet_shows_on_the_next_reload(dev_stack):
    # pages name the file by its plain name, and browsers must revalidate it
    assert re.search(r'href="/static/css/educa\.css"', dev_stack.get("/").text)
    before = dev_stack.get("/static/css/educa.css")
    assert before.status_code == 200
    assert before.headers["Cache-Control"] == "no-cache"
    assert "edited-stylesheet" not in before.text

    path = dev_stack.checkout / "educa/static/css/educa.css"
    path.write_text(path.read_text() + "\n.edited-stylesheet { color: red; }\n")

    seconds = wait_until(
        lambda: ".edited-stylesheet" in dev_stack.get("/static/css/educa.css").text,
        EDIT_TIMEOUT,
        "the edited educa.css through NGINX",
    )
    print(f"\nstylesheet edit shown after {seconds:.1f}s")


@pytest.mark.parametrize(
    ("variable", "expected"),
    [
        ("POSTGRES_PASSWORD", 'PostgreSQL at db:5432 refused the password of user "educa"'),
        ("REDIS_PASSWORD", 'Redis refused user "educa" with REDIS_PASSWORD'),
    ],
    ids=["postgres", "redis"],
)
def test_a_password_the_server_refuses_is_one_line(dev_stack, variable, expected):
    """check_services against the real PostgreSQL and Redis (a variable wins over the secret file)."""
    result = dev_stack.exec(
        "web", "python", "manage.py", "check_services", check=False, env={variable: "wrong"}
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
    assert "--force-recreate" in lines[0]


def test_an_administrator_without_a_terminal(dev_stack):
    refused = dev_stack.exec("web", "python", "manage.py", "createsuperuser", check=False)
    assert refused.returncode == 1
    assert "DJANGO_SUPERUSER_PASSWORD" in refused.stderr

    created = dev_stack.manage(
        "createsuperuser",
        "--noinput",
        check=False,
        env={
            "DJANGO_SUPERUSER_USERNAME": "admin",
            "DJANGO_SUPERUSER_EMAIL": "admin@example.com",
            "DJANGO_SUPERUSER_PASSWORD": "Admin-pass-123",
        },
    )
    assert created.returncode == 0, created.stderr
    assert "Superuser created successfully." in created.stdout
