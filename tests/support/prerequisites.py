"""What each layer needs before it starts, and a message naming what to install.

A layer whose prerequisite is missing fails (never skips) with one of these
messages, unless the user deselects it with ``-m``. ``bin/test`` installs all
of it on a Debian or Ubuntu machine.
"""

import os
import shutil
import subprocess

INTEGRATION_IMAGES = ("postgres:17", "redis:8.0")
STACK_IMAGES = ("postgres:17", "redis:8.0", "nginx:1.26", "python:3.13-slim")
CHROMIUM = "/usr/bin/chromium"

INSTALL_ALL = "`bin/test` installs everything the layers need"
IMAGES_HINT = "where no registry is reachable, `bash .ci/images.sh` builds local stand-ins for {images}"


def _message(layer, what, how, deselect):
    return (
        f"The {layer} layer needs {what}. {how}. {INSTALL_ALL}. "
        f"To run the other layers without it: pytest -m '{deselect}'."
    )


def _docker_engine_problem():
    if shutil.which("docker") is None:
        return "the docker command (Debian: apt-get install docker.io)"
    info = subprocess.run(
        ["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True
    )
    if info.returncode != 0:
        return f"a running Docker Engine ({info.stderr.strip() or 'docker info failed'})"
    return None


def _missing_images(images):
    return [
        image
        for image in images
        if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode != 0
    ]


def integration_problem():
    """Why the integration layer cannot run here, or None when it can."""
    images = " and ".join(INTEGRATION_IMAGES)
    how = f"Install Docker Engine and the images {images} ({IMAGES_HINT.format(images=images)})"
    deselect = "not integration"
    try:
        import testcontainers  # noqa: F401
        import trustme  # noqa: F401
    except ImportError as error:
        return _message(
            "integration",
            f"the Python package {error.name!r}",
            "pip install -r requirements-dev.txt",
            deselect,
        )
    problem = _docker_engine_problem()
    if problem is None and (missing := _missing_images(INTEGRATION_IMAGES)):
        problem = f"the images {', '.join(missing)}"
    return _message("integration", problem, how, deselect) if problem else None


def stack_problem():
    """Why the compose stack cannot be booted here, or None when it can."""
    images = ", ".join(STACK_IMAGES)
    how = (
        "Install Docker Engine with the Compose v2 plugin (`docker compose version` must answer; "
        f"Debian: apt-get install docker.io docker-compose) and the images {images} "
        f"({IMAGES_HINT.format(images=images)})"
    )
    deselect = "not stack and not browser"
    problem = _docker_engine_problem()
    if problem is None:
        version = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if version.returncode != 0:
            problem = f"the Compose v2 plugin ({version.stderr.strip()})"
    if problem is None and (missing := _missing_images(STACK_IMAGES)):
        problem = f"the images {', '.join(missing)}"
    return _message("stack and browser", problem, how, deselect) if problem else None


def browser_problem():
    """Why the browser layer cannot run here, or None when it can."""
    deselect = "not browser"
    try:
        import axe_playwright_python  # noqa: F401
        import playwright.sync_api  # noqa: F401
    except ImportError as error:
        return _message(
            "browser", f"the Python package {error.name!r}", "pip install -r requirements-dev.txt", deselect
        )
    if not os.access(CHROMIUM, os.X_OK):
        return _message("browser", f"Debian's Chromium at {CHROMIUM}", "apt-get install chromium", deselect)
    if shutil.which("certutil") is None:
        return _message(
            "browser",
            "certutil (to trust the stack's certificate in Chromium's NSS store)",
            "apt-get install libnss3-tools",
            deselect,
        )
    return None
