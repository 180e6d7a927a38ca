"""The application image the stack runs: small, and holding nothing that only installs software.

A package manager, pip or a compiler in a running image is a tool for
whoever gets in, and weight every deploy carries. The Dockerfile removes
them; these tests look at the image the stack's web service was started
from, so they fail when a change of base image or dependency brings one
back or grows the image past its budget.
"""

import json
import subprocess

import pytest

pytestmark = pytest.mark.stack

# the budget, in bytes as Docker counts them (1 MB = 10^6 bytes)
MAX_IMAGE_SIZE = 200_000_000
BUILD_ONLY_TOOLS = ("apt-get", "apt", "pip", "pip3", "perl", "gcc", "cc", "make", "strip")
PURGED_PACKAGES = ("apt", "perl-base", "debconf")


@pytest.fixture(scope="module")
def image(stack):
    (web,) = [c for c in stack.inspect() if c["Config"]["Labels"]["com.docker.compose.service"] == "web"]
    return web["Image"]


def run_in(image, script):
    return subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--entrypoint", "sh", image, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_application_image_is_under_200_mb(image):
    inspected = json.loads(
        subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=True).stdout
    )
    size = inspected[0]["Size"]
    assert size < MAX_IMAGE_SIZE, f"the application image is {size / 1e6:.0f} MB"


def test_no_tool_that_only_installs_software_is_left(image):
    found = run_in(image, "".join(f"command -v {tool};" for tool in BUILD_ONLY_TOOLS) + "true")
    assert found.returncode == 0, found.stderr
    assert found.stdout.split() == []


def test_the_package_database_says_what_the_image_holds(image):
    """Purged with dpkg, not deleted: scanners reading its database see the truth."""
    listed = run_in(image, "dpkg-query -W -f='${db:Status-Status} ${Package}\\n'")
    assert listed.returncode == 0, listed.stderr
    installed = {line.split()[1] for line in listed.stdout.splitlines() if line.startswith("installed ")}
    assert {"libc6", "bash"} <= installed
    assert not installed & set(PURGED_PACKAGES)
