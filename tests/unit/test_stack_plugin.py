"""The stack fixture loads as a plugin in someone else's pytest session.

Nothing is booted: the test only proves the documented way of loading it
works from outside this repository and offers its fixtures and option.
"""

import os
import subprocess
import sys

import pytest

from tests.support.system import REPO

pytestmark = pytest.mark.unit

CONFTEST = f"""
import sys
sys.path.insert(0, {str(REPO)!r})
pytest_plugins = ["tests.support.plugin"]
"""


def test_the_plugin_loads_from_another_project(tmp_path):
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST", "DJANGO"))}
    pytest = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:django", "-c", os.devnull]
    result = subprocess.run(
        [*pytest, "--fixtures", "."],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "educa_stack [session scope]" in result.stdout
    assert "educa_stack_settings [session scope]" in result.stdout

    help_text = subprocess.run(
        [*pytest, "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "--educa-checkout" in help_text
