"""sslyze, a TLS scanner, run against a stack's published HTTPS port.

It runs in an image of its own (``sslyze/``: its lock pins an older
cryptography than the application's), on the host's network, so it meets
NGINX exactly where every other client of the tests does, and it trusts the
stack's own certificate alone.
"""

import os
import subprocess
from pathlib import Path

from .stack import CONTAINER_LABEL, OWNER_LABEL
from .system import build_test_image

SSLYZE_DIR = Path(__file__).with_name("sslyze")
SSLYZE_IMAGE = "educa-test/sslyze:latest"


def build_sslyze_image():
    build_test_image(SSLYZE_IMAGE, SSLYZE_DIR)


def mozilla_compliance(stack, profile="intermediate"):
    """Scan the stack with sslyze against Mozilla's ``profile``; return (exit status, report)."""
    result = subprocess.run(
        [
            "docker", "run", "--rm", "--network", "host",
            "--label", CONTAINER_LABEL, "--label", f"{OWNER_LABEL}={os.getpid()}",
            "-v", f"{stack.ca_file}:/etc/educa/stack-ca.pem:ro",
            SSLYZE_IMAGE,
            f"--mozilla_config={profile}",
            "--certinfo_ca_file=/etc/educa/stack-ca.pem",
            f"{stack.host}:{stack.https_port}",
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return result.returncode, result.stdout + result.stderr
