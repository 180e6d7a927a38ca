"""The API against its own description, through NGINX: served, documented, fuzzed.

schemathesis reads /api/schema/ from the running stack and sends what the
schema allows and what it does not (examples, boundary values, random and
stateful sequences), checking every answer: no 5xx, status codes, content
types, headers and bodies as documented, invalid input refused, no request
that hangs. Once anonymously and once as an enrolled student (session cookie
and CSRF token, as a browser sends them). The example budget and the seed
are fixed, so a run costs the same each time and a failure replays.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.journeys import DEMO_COURSE, enrolled_student, load_demo_courses

pytestmark = pytest.mark.stack

EXAMPLES_PER_OPERATION = 40
SEED = 20261202
# A request unanswered after this long is a failure (a hang), not a slow answer.
REQUEST_TIMEOUT = 20
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = Path(__file__).with_name("schemathesis.toml")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def demo_courses(stack):
    load_demo_courses(stack)


def fuzz(stack, workdir, student=None):
    """Run schemathesis against the stack's schema (as ``student``, a signed-in client, if given).

    Return its output; any finding fails the test.
    """
    if not SCHEMATHESIS.exists():
        pytest.fail(
            f"{SCHEMATHESIS} is missing: install the test tools with bin/setup (requirements-dev.txt)"
        )
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{stack.base_url}/api/schema/",
        "--checks",
        "all",
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        str(SEED),
        "--request-timeout",
        str(REQUEST_TIMEOUT),
        "--tls-verify",
        str(stack.ca_file),
        "--workers",
        "2",
        # under NGINX's API rate for one address (NGINX_API_RATE, 20 a
        # second), so the answers are the API's own, not mostly 429s
        "--rate-limit",
        "15/s",
        # Django's CSRF check over HTTPS also wants a same-origin Referer.
        "--header",
        f"Referer: {stack.base_url}/",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if student is not None:
        env |= {
            "SCHEMATHESIS_HOOKS": "tests.stack.schemathesis_hooks",
            "EDUCA_FUZZ_SESSIONID": student.cookies["sessionid"],
            "EDUCA_FUZZ_CSRFTOKEN": student.csrf_token(),
        }
    # In a directory of its own: schemathesis keeps the failures it found there
    # and replays them first on the next run, which would make runs depend on each other.
    run = subprocess.run(
        command, capture_output=True, text=True, timeout=600, check=False, cwd=workdir, env=env
    )
    output = run.stdout + run.stderr
    print(output[-3000:])
    assert run.returncode == 0, f"schemathesis found problems:\n{output[-12000:]}"
    assert "Tested: 6" in output, "not every operation of the schema was exercised"
    return output


def test_the_schema_and_its_documentation_page_are_served_through_nginx(stack):
    client = stack.client()

    schema = client.get("/api/schema/", params={"format": "json"})
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")

    page = client.get("/api/docs/")
    assert page.status_code == 200
    # Swagger UI's files come from the stack itself, hashed and cached like any static file.
    assets = [url for url in re.findall(r'(?:src|href)="([^"]+)"', page.text) if "swagger-ui" in url]
    assert len(assets) >= 3, assets
    for url in assets:
        assert url.startswith("/static/drf_spectacular_sidecar/swagger-ui-dist/"), url
        answer = client.get(url)
        assert answer.status_code == 200, f"{url}: {answer.status_code}"
        assert "immutable" in answer.headers.get("Cache-Control", ""), url
    start = client.get("/api/docs/", params={"script": ""})
    assert start.status_code == 200 and "javascript" in start.headers["Content-Type"]


def test_anonymous_requests_keep_to_the_schema(stack, tmp_path):
    output = fuzz(stack, tmp_path)

    # Anonymous requests to the operations that need a student are refused as documented.
    assert "403 Forbidden (2 operations)" in output


def test_an_enrolled_students_requests_keep_to_the_schema(stack, tmp_path):
    _, student, _ = enrolled_student(stack, "fuzzed", DEMO_COURSE)

    output = fuzz(stack, tmp_path, student)

    # Signed in, the student's own operations were answered, not only refused.
    assert "Authentication failed" not in output
